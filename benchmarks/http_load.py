"""HTTP benchmark at scale: the tracker under gunicorn vs a bare Flask floor, SQLite and PostgreSQL.

Run from the repository root (docs/benchmarks.md, "HTTP at 10,000 engagements"):

    .venv/bin/python benchmarks/http_load.py --engagements 10000 --backends sqlite,postgres

For each backend: a fresh database (`flask db upgrade`, `flask seed-demo --scale N`),
an API token (`flask tokens create`), the app under gunicorn with production settings
and the floor app (benchmarks/floor_app.py) under the same settings on the same database.
A closed-loop load generator (http.client, one keep-alive connection per client thread,
loopback only, a bounded number of requests) warms each endpoint up, then measures
p50/p95/p99 latency and requests/second. Prints a Markdown table per backend with each
endpoint's ratio to the floor, the targets met or missed, and the servers' peak RSS.
"""

import sys
from pathlib import Path

# Import the app from the repository root.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402

VENV = ROOT / ".venv" / "bin"
MANAGER, PASSWORD = "manager@example.com", "demo-password"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
# Issue 29's targets: pages p95 < 50 ms; p50 against the floor of the same run: the API
# list <= 2.5x the 50-row floor, the detail <= 2x and a milestone update <= 5x one row;
# a worker's peak RSS < 150 MB.
PAGE_P95_MS, RSS_MB = 50.0, 150.0
FLOOR_RATIOS = {"API list": 2.5, "API detail": 2.0, "milestone update": 5.0}
RECORD_P95_MS = 150.0  # the provider record and the portfolio (issue 31)


@dataclass
class Endpoint:
    """One thing to measure: how to build the i-th request, and its target."""

    name: str
    method: str
    path: object  # callable(i) -> str
    body: object = None  # callable(i) -> dict | None
    auth: str = "token"  # token | cookie | none
    server: str = "app"  # app | floor
    target: str = ""  # "p95<100" | "floor3x" | ""


@dataclass
class Result:
    name: str
    latencies: list = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    statuses: dict = field(default_factory=dict)
    body_bytes: int = 0  # size of the last response body

    def add(self, other: "Result") -> None:
        """Fold another round's measurements into this one."""
        self.latencies += other.latencies
        self.errors += other.errors
        self.seconds += other.seconds
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.body_bytes = other.body_bytes or self.body_bytes

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


# Database and servers -------------------------------------------------------------------


def _env(url: str, workdir: Path) -> dict:
    env = dict(os.environ, APP_ENV="production", DATABASE_URL=url, FLASK_APP="wsgi")
    env.update(SECRET_KEY="benchmark-secret-" + "x" * 32, INSTANCE_PATH=str(workdir / "instance"))
    env["PYTHONPATH"] = str(ROOT)
    return env


def _flask(env: dict, *args: str) -> str:
    done = subprocess.run(
        [str(VENV / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def prepare_database(env: dict, n: int, seed: int) -> tuple[float, str]:
    """Migrate, seed the demo and N generated engagements; returns (seconds, API token)."""
    _flask(env, "db", "upgrade")
    started = time.perf_counter()
    output = _flask(env, "seed-demo", "--scale", str(n), "--seed", str(seed))
    print("\n".join(line for line in output.splitlines() if "scale_data" in line))
    seconds = time.perf_counter() - started
    token = _flask(env, "tokens", "create", MANAGER, "--name", "benchmark").split()[0]
    return seconds, token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(app_spec: str, env: dict, args, cwd: Path = ROOT) -> tuple[subprocess.Popen, int]:
    """gunicorn with the benchmark's worker settings; waits until /healthz answers."""
    port = _free_port()
    command = [str(VENV / "gunicorn"), "-w", str(args.workers), "-k", args.worker_class]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec]
    process = subprocess.Popen(command, cwd=cwd, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _request(port, "GET", "/healthz")[0] == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{app_spec} did not start")


def peak_rss_mb(master_pid: int) -> tuple[float, list[float]]:
    """VmHWM (peak resident set) of the gunicorn master and of each worker, in MB."""

    def hwm(pid: int) -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    return hwm(master_pid), [hwm(pid) for pid in _workers(master_pid)]


def _workers(master_pid: int) -> list[int]:
    return [
        int(p) for p in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    ]


def reset_peak_rss(master_pid: int) -> None:
    """Start each worker's VmHWM afresh from its current RSS (Linux: clear_refs 5).

    Sign-in verifies an Argon2id hash whose memory cost is 64 MiB (tracker/auth/passwords.py):
    the worker that signs the client in peaks ~64 MB above what it serves with. The report
    gives that peak and the serving peak after it as two figures."""
    for pid in _workers(master_pid):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


# HTTP client ---------------------------------------------------------------------------------


def _request(port, method, path, body=None, headers=None, connection=None):
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    if connection is None:
        conn.close()
    return response.status, response.getheaders(), data


def login(port: int) -> str:
    """Sign in through the real form (with its CSRF token); returns the Cookie header."""
    status, headers, page = _request(port, "GET", "/login")
    cookies = _cookies(headers, {})
    token = CSRF_RE.search(page.decode()).group(1)
    form = f"email={MANAGER}&password={PASSWORD}&csrf_token={token}"
    form_headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies}
    status, headers, _ = _request(port, "POST", "/login", form.encode(), form_headers)
    if status != 302:
        raise SystemExit(f"login failed with {status}")
    return _cookies(headers, dict(c.split("=", 1) for c in cookies.split("; ") if c))


def _cookies(headers, jar: dict) -> str:
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            jar[key] = rest.split(";", 1)[0]
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _headers(endpoint: Endpoint, creds: dict) -> dict:
    headers = {"Accept": "application/json" if endpoint.auth == "token" else "text/html"}
    if endpoint.auth == "token":
        headers["Authorization"] = f"Bearer {creds['token']}"
    elif endpoint.auth == "cookie":
        headers["Cookie"] = creds["other_cookie" if endpoint.server == "other" else "cookie"]
    return headers


def run_load(endpoint, port, creds, indices, concurrency) -> Result:
    """Closed loop: `concurrency` threads share the request indices; latency per request."""
    result, lock, queue = Result(endpoint.name), threading.Lock(), list(reversed(indices))
    headers = _headers(endpoint, creds)
    if endpoint.body:
        headers["Content-Type"] = "application/json"

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop()
            body = json.dumps(endpoint.body(i)).encode() if endpoint.body else None
            started = time.perf_counter()
            status, _, data = _request(port, endpoint.method, endpoint.path(i), body, headers, conn)
            elapsed = time.perf_counter() - started
            with lock:
                result.body_bytes = len(data)
                result.latencies.append(elapsed)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.errors += status >= 400

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


# What to measure --------------------------------------------------------------------------


def pick_ids(url: str, seed: int) -> dict:
    """Engagements, open milestones and trial engagements to aim requests at."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM engagement ORDER BY id")).scalars().all()
        trial = (
            conn.execute(text("SELECT id FROM engagement WHERE state = 'trial' ORDER BY id"))
            .scalars()
            .all()
        )
        milestones = (
            conn.execute(
                text(
                    "SELECT m.id FROM milestone m JOIN engagement e ON e.id = m.engagement_id "
                    "WHERE e.state IN ('trial', 'extension') AND m.status IN "
                    "('planned', 'on_track', 'at_risk') ORDER BY m.id"
                )
            )
            .scalars()
            .all()
        )
        providers = (
            conn.execute(text("SELECT DISTINCT provider_id FROM engagement ORDER BY 1"))
            .scalars()
            .all()
        )
    engine.dispose()
    rng = random.Random(seed)
    rng.shuffle(trial)
    return {
        "all": ids, "trial": trial, "milestones": milestones, "providers": providers, "rng": rng,
    }  # fmt: skip


def endpoints(pool: dict, compare: bool = False) -> list[Endpoint]:
    """The six app endpoints of the issue and the two floors, reads before writes; with
    `compare`, each app endpoint again against the other tree's server, on rows of its
    own (index + COMPARE_OFFSET) so that no write meets the other server's."""
    found = _endpoints(pool)
    if not compare:
        return found
    paired = []
    for endpoint in found:
        paired.append(endpoint)
        if endpoint.server == "app":
            paired.append(_other_tree(endpoint))
    return paired


COMPARE_OFFSET = 400


def _other_tree(endpoint: Endpoint) -> Endpoint:
    path, body = endpoint.path, endpoint.body
    return replace(
        endpoint,
        name=f"{endpoint.name} [other tree]",
        server="other",
        path=lambda i: path(i + COMPARE_OFFSET),
        body=(lambda i: body(i + COMPARE_OFFSET)) if body else None,
        target="",
    )


def _endpoints(pool: dict) -> list[Endpoint]:
    rng = pool["rng"]
    some = [rng.choice(pool["all"]) for _ in range(5000)]
    # Distinct milestones: two concurrent updates of one milestone would rightly get a 409.
    open_ms = rng.sample(pool["milestones"], min(5000, len(pool["milestones"])))
    status = ["on_track", "at_risk"]
    providers = [rng.choice(pool["providers"]) for _ in range(5000)]
    return [
        Endpoint("floor: one row as JSON", "GET", lambda i: f"/floor/{some[i]}", None, "none",
                 "floor"),
        Endpoint("floor: 50 rows as JSON", "GET",
                 lambda i: f"/floor/list?state=trial&page={1 + i % 5}", None, "none", "floor"),
        Endpoint("dashboard page", "GET", lambda i: "/dashboard", None, "cookie", target="p95"),
        Endpoint("engagement page", "GET", lambda i: f"/engagements/{some[i]}", None, "cookie",
                 target="p95"),
        Endpoint("API list (50, state=trial)", "GET",
                 lambda i: f"/api/v1/engagements?state=trial&per_page=50&page={1 + i % 5}",
                 target="floor"),
        Endpoint("API detail", "GET", lambda i: f"/api/v1/engagements/{some[i]}", target="floor"),
        # issue 31: the view across engagements, p95 < 150 ms
        Endpoint("provider record page", "GET", lambda i: f"/providers/{providers[i]}", None,
                 "cookie", target="p95<150"),
        Endpoint("portfolio page", "GET", lambda i: "/portfolio", None, "cookie",
                 target="p95<150"),
        Endpoint("provider record (API)", "GET",
                 lambda i: f"/api/v1/providers/{providers[i]}/record", target="p95<150"),
        Endpoint("milestone update (API)", "POST",
                 lambda i: f"/api/v1/milestones/{open_ms[i]}/updates",
                 lambda i: {"status": status[i % 2], "note": "Benchmark status report."}),
        # Most trials are not yet in their last 14 days: beginning the review early needs a
        # written reason (guard early_review_needs_reason); without one it was a 422.
        Endpoint("fire begin_review (API)", "POST",
                 lambda i: f"/api/v1/engagements/{pool['trial'][i]}/transitions/begin_review",
                 lambda i: {"inputs": {"reason": "Benchmark: the review begins early."}}),
    ]  # fmt: skip


def chosen(targets: list[Endpoint], only: str) -> list[Endpoint]:
    """The floors always, and with `only` the endpoints whose names contain one of its words."""
    words = [w.strip() for w in only.split(",") if w.strip()]
    if not words:
        return targets
    return [e for e in targets if e.server == "floor" or any(w in e.name for w in words)]


def sign_in(app, other, ports: dict, token: str) -> tuple[dict, tuple]:
    """Sessions for the pages; returns them with the app's peak RSS after signing in, and
    starts the peaks afresh so the rest of the run measures serving alone."""
    creds = {"token": token, "cookie": login(ports["app"])}
    if other is not None:
        creds["other_cookie"] = login(ports["other"])
    signin_rss = peak_rss_mb(app.pid)
    for server in (app, other):
        if server is not None:
            reset_peak_rss(server.pid)
    return creds, signin_rss


def measure_backend(backend: str, url: str, workdir: Path, args) -> dict:
    """Seed, serve, warm up, measure every endpoint; returns the figures."""
    env = _env(url, workdir)
    seed_seconds, token = prepare_database(env, args.engagements, args.seed)
    pool = pick_ids(url, args.seed)
    app, app_port = start_server("wsgi:app", env, args)
    floor, floor_port = start_server("benchmarks.floor_app:app", env, args)
    other, ports = None, {"app": app_port, "floor": floor_port}
    if args.compare_root:
        other_env = dict(env, PYTHONPATH=str(args.compare_root))
        other, ports["other"] = start_server("wsgi:app", other_env, args, cwd=args.compare_root)
    try:
        creds, signin_rss = sign_in(app, other, ports, token)
        loads = [os.getloadavg()[0]]
        targets = chosen(endpoints(pool, compare=other is not None), args.only)
        results = [Result(endpoint.name) for endpoint in targets]
        # Warm-up and measurement use distinct indices: a transition never fires twice.
        # The measured requests are split into rounds that visit every endpoint in turn,
        # so the app and the floor share the same moments of a noisy machine.
        per_round = max(1, args.requests // args.rounds)
        for endpoint in targets:
            run_load(endpoint, ports[endpoint.server], creds, list(range(args.warmup)),
                     args.concurrency)  # fmt: skip
        for round_no in range(args.rounds):
            start = args.warmup + round_no * per_round
            for endpoint, result in zip(targets, results, strict=True):
                indices = list(range(start, start + per_round))
                port = ports[endpoint.server]
                result.add(run_load(endpoint, port, creds, indices, args.concurrency))
            loads.append(os.getloadavg()[0])
        for result in results:
            print(f"  {backend}: {result.name} p50 {result.pct(0.5):.1f} ms", flush=True)
        rss = {
            "app, serving (after sign-in)": peak_rss_mb(app.pid),
            "app, signing in (Argon2id)": signin_rss,
            "floor": peak_rss_mb(floor.pid),
        }
        if other is not None:
            rss["other tree"] = peak_rss_mb(other.pid)
    finally:
        for server in (app, floor, other):
            if server is not None:
                stop_server(server)
    return {
        "seed_seconds": seed_seconds,
        "results": results,
        "rss": rss,
        "pool": pool,
        "compare": other is not None,
        "load": (min(loads), max(loads)),
    }


# Report ---------------------------------------------------------------------------------------


def _verdict(endpoint: Endpoint, result: Result, floor: Result, list_floor=None) -> str:
    if result.errors:
        return f"MISSED: {result.errors} errors {result.statuses}"
    if endpoint.target == "p95":
        ok = result.pct(0.95) < PAGE_P95_MS
        return f"{'met' if ok else 'MISSED'} (p95 < {PAGE_P95_MS:.0f} ms)"
    if endpoint.target == "p95<150":
        ok = result.pct(0.95) < RECORD_P95_MS
        return f"{'met' if ok else 'MISSED'} (p95 < {RECORD_P95_MS:.0f} ms)"
    ratio = next((r for name, r in FLOOR_RATIOS.items() if endpoint.name.startswith(name)), None)
    if ratio is not None:
        listed = list_floor is not None and endpoint.name.startswith("API list")
        base, what = (list_floor, "50-row") if listed else (floor, "one-row")
        times = result.pct(0.5) / base.pct(0.5) if base.pct(0.5) else float("inf")
        ok = times <= ratio
        return f"{'met' if ok else 'MISSED'} (p50 {times:.1f}x the {what} floor; <= {ratio}x)"
    return ""


def report(backend: str, figures: dict, args) -> str:
    """A Markdown table for one backend: latencies, throughput, ratio to the floor, targets."""
    results = figures["results"]
    floor = results[0]
    lines = [
        f"### {backend}: {args.engagements:,} engagements "
        f"(generated in {figures['seed_seconds']:.0f} s incl. demo seed and process start)",
        "",
        "| endpoint | p50 ms | p95 ms | p99 ms | req/s | p50 ÷ floor | body KB | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for endpoint, result in zip(
        chosen(endpoints(figures["pool"], figures["compare"]), args.only), results, strict=True
    ):
        ratio = result.pct(0.5) / floor.pct(0.5) if floor.pct(0.5) else 0.0
        lines.append(
            f"| {result.name} | {result.pct(0.5):.1f} | {result.pct(0.95):.1f} | "
            f"{result.pct(0.99):.1f} | {result.rps:.0f} | {ratio:.1f} | "
            f"{result.body_bytes / 1024:.0f} | {_verdict(endpoint, result, floor, results[1])} |"
        )
    low, high = figures["load"]
    lines += [
        "",
        f"Load average (1 min) during the measured rounds: {low:.1f} to {high:.1f}.",
        *(_rss_line(name, rss) for name, rss in figures["rss"].items()),
    ]
    return "\n".join(lines)


def _rss_line(name: str, rss: tuple[float, list[float]]) -> str:
    master, workers = rss
    worst = max(workers, default=0.0)
    verdict = "met" if worst < RSS_MB else "MISSED"
    shown = ", ".join(f"{w:.0f}" for w in workers)
    return (
        f"Peak RSS ({name}): master {master:.0f} MB, workers {shown} MB "
        f"({verdict}: < {RSS_MB:.0f} MB per worker)."
    )


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, load {load}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engagements", type=int, default=10000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=300, help="measured per endpoint")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured, per endpoint")
    parser.add_argument(
        "--rounds", type=int, default=10, help="measured requests split into interleaved rounds"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="client threads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--worker-class",
        default="sync",
        choices=["sync", "gthread"],
        help="sync: the README's production command; gthread shares keep-alive connections "
        "unevenly between workers (docs/adr/0072)",
    )
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--sqlite-file", type=Path, help="seed (or top up) and serve this SQLite file"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated words: measure only endpoints named so"
    )
    parser.add_argument(
        "--postgres-url",
        help="seed (or top up) and serve this PostgreSQL database instead of a throwaway cluster",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--compare-root",
        type=Path,
        help="another checkout (e.g. the commit before a change) served beside the app on "
        "the same database and measured in the same rounds",
    )
    return parser.parse_args(argv)


def _database(
    backend: str,
    workdir: Path,
    stack: list,
    reuse: Path | None = None,
    postgres_url: str | None = None,
) -> str:
    if backend == "sqlite":  # an already seeded file is only topped up (seeding is idempotent)
        return f"sqlite:///{reuse or workdir / 'bench.db'}"
    if postgres_url:
        return postgres_url
    from tests.support.postgres import PostgresCluster

    cluster = PostgresCluster().start()
    stack.append(cluster)
    return cluster.create_database("bench")


def main(argv=None) -> None:
    args = parse_args(argv)
    print(f"{time.strftime('%Y-%m-%d %H:%M')} — {machine()}")
    threads = f" --threads {args.threads}" if args.worker_class == "gthread" else ""
    print(f"gunicorn -w {args.workers} -k {args.worker_class}{threads}; "
          f"{args.concurrency} client threads; {args.warmup} warm-up + {args.requests} "
          "measured requests per endpoint")  # fmt: skip
    tables, raw = [], {}
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix=f"bench-{backend}-") as tmp:
            clusters: list = []
            try:
                figures = measure_backend(
                    backend,
                    _database(backend, Path(tmp), clusters, args.sqlite_file, args.postgres_url),
                    Path(tmp),
                    args,
                )
            finally:
                for cluster in clusters:
                    cluster.stop()
        tables.append(report(backend, figures, args))
        raw[backend] = {
            r.name: {
                "p50": r.pct(0.5),
                "p95": r.pct(0.95),
                "p99": r.pct(0.99),
                "rps": r.rps,
                "statuses": r.statuses,
            }
            for r in figures["results"]
        }
    print("\n\n".join(tables))
    print(f"\nAfter the run: {machine()}")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
