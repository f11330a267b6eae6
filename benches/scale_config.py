#!/usr/bin/env python3
"""Writes a shipdeck configuration for N loopback customers (c-00001 … c-NNNNN, the
ids `shipdeck fleet --customers N` serves) into DIR, from the repository's config/:
every customer's health is an `http` source on the fleet, its deploy `simulated`.

    python3 benches/scale_config.py REPO_CONFIG_DIR OUT_DIR N BASE_URL MAX_PARALLEL
"""
import json
import shutil
import sys
from pathlib import Path

src, out, n, base, parallel = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
out.mkdir(parents=True, exist_ok=True)
for name in ("checklists.json", "roster.json"):
    shutil.copy(src / name, out / name)

policies = json.loads((src / "policies.json").read_text())
# The seed's max_parallel (10) would take days of release time to roll 10,000
# customers out; the benchmark is about monitoring, so waves deploy wider.
policies["policies"]["security"]["max_parallel"] = parallel
(out / "policies.json").write_text(json.dumps(policies, indent=1))

deploy_policies = json.loads((src / "deployment-policies.json").read_text())
deploy_policies["overrides"] = {}
(out / "deployment-policies.json").write_text(json.dumps(deploy_policies, indent=1))


def tier(i):
    b = i % 100
    return "demo" if b == 0 else "startup" if b <= 20 else "standard" if b <= 70 else "enterprise"


customers = []
for i in range(1, n + 1):
    cid = f"c-{i:05}"
    customers.append({
        "id": cid,
        "name": f"Customer {i:05}",
        "tier": tier(i),
        "version": "v1.0.0",
        "health": {"kind": "http", "url": f"{base}/health/{cid}", "timeout": "5s",
                   "error_rate_pointer": "/error_rate", "latency_pointer": "/latency_p95_ms"},
        "deploy": {"kind": "simulated", "duration": "30s", "failure_rate": 0.0},
    })
# A wave per tier needs at least one customer in it.
(out / "customers.json").write_text(json.dumps({"customers": customers}))
