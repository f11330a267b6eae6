//! The `shipdeck` binary: parse arguments, run the command, map the result to an
//! exit code (0 done, 1 waiting on a person / refused, 2 error).

use clap::Parser;

fn main() {
    bound_malloc_arenas();
    let cli = shipdeck::cli::args::Cli::parse();
    // A probe round is fan-out I/O with little work per request: on one thread the
    // request futures and hyper's connection tasks wake each other without crossing
    // threads (a round over 10,000 loopback customers: 45,000 probes/s against
    // 33,500 on two workers). Everything else keeps two workers.
    let mut builder = if matches!(cli.command, Some(shipdeck::cli::args::Cmd::Health { .. })) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shipdeck: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    };
    let code = runtime.block_on(async {
        let mut stdout = std::io::stdout();
        match shipdeck::cli::run(cli, &mut stdout).await {
            Ok(code) => code,
            Err(e) => {
                if !e.message.is_empty() {
                    // Messages quote what people typed and what files hold: one line
                    // each, control characters escaped.
                    let lines: Vec<_> = e.message.lines().map(shipdeck::domain::escape).collect();
                    eprintln!("shipdeck: {}", lines.join("\n"));
                }
                e.code
            }
        }
    });
    // Background tasks (probes, effects) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}

/// glibc gives every thread that allocates under contention an arena of its own (up
/// to 8 per core), and memory freed in one is not reused by another: a runner at
/// 10,000 customers peaked at 229 MB resident for a 144 MB heap. Two arenas, one per
/// runtime worker, keep it near the heap (measured in benches/scale.sh).
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread
    // is started, as glibc asks.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
