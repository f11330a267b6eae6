//! The `shipdeck` binary: parse arguments, run the command, map the result to an
//! exit code (0 done, 1 waiting on a person / refused, 2 error).

use clap::Parser;

fn main() {
    let cli = shipdeck::cli::args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
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
