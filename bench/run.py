#!/usr/bin/env python3
"""Hearth data-plane benchmarks. One command: scripts/bench (see bench/README.md).

Measures, in one run on this machine:
  1. invoke latency (p50, p99) and throughput of a no-op handler through the whole path
     (client -> API/router -> agent -> runtime) for each shipped runtime, at concurrency 1 and 64,
     with wrk as the load generator;
  2. the same Python handler served directly by uWSGI with the same number of worker processes
     (baseline, same run), and the ratios;
  3. PublishVersion -> Active time for 3 execution environments;
  4. the agent's resident memory per idle execution environment (at 1,000 EEs) and the server's
     resident memory per open client connection (at 1,000 connections).
"""
import argparse, base64, io, json, os, re, signal, socket, statistics, subprocess, sys, tempfile
import time, urllib.request, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEARTH = os.environ.get("HEARTH_BIN", os.path.join(ROOT, "build", "bin", "hearth"))
# This host's interpreters for Lambda's runtimes where it lacks their versions.
SUBSTITUTES = subprocess.run([os.path.join(ROOT, "scripts", "lib", "runtime-substitutes")],
                             check=True, capture_output=True, text=True).stdout.split()
ACCOUNT = "123456789012"


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def call(endpoint, method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(endpoint + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else {})
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else {})


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name); info.external_attr = (mode & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return base64.b64encode(buf.getvalue()).decode()


PY_NOOP = "def handler(event, context):\n    return {'ok': True}\n"
NODE_NOOP = "export const handler = async (event) => ({ ok: true });\n"
PROVIDED_NOOP = """#!/usr/bin/env python3
import http.client, os, threading
host, port = os.environ['AWS_LAMBDA_RUNTIME_API'].split(':')
def worker():
    c = http.client.HTTPConnection(host, int(port))
    while True:
        c.request('GET', '/2018-06-01/runtime/invocation/next'); r = c.getresponse(); r.read()
        rid = r.getheader('Lambda-Runtime-Aws-Request-Id')
        c.request('POST', f'/2018-06-01/runtime/invocation/{rid}/response', body=b'{"ok":true}')
        c.getresponse().read()
n = int(os.environ.get('AWS_LAMBDA_MAX_CONCURRENCY', '1'))
for _ in range(n - 1):
    threading.Thread(target=worker, daemon=True).start()
worker()
"""
IDLE_BOOTSTRAP = """#!/bin/bash
exec 3<>/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3
read -r line <&3
"""


class Server:
    def __init__(self, extra=()):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="hearth-bench-")
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([HEARTH, "up", "--listen", f"127.0.0.1:{self.port}",
                                      "--data-dir", os.path.join(self.dir, "data"),
                                      "--log-level", "warn", *SUBSTITUTES, *extra],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                if call(self.endpoint, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def provider(self, name, subnets=("zone-a", "zone-b", "zone-c"), max_vcpu=64):
        status, out = call(self.endpoint, "POST", "/2025-11-30/capacity-providers", {
            "CapacityProviderName": name, "VpcConfig": {"SubnetIds": list(subnets)},
            "PermissionsConfig": {"CapacityProviderOperatorRoleArn": f"arn:aws:iam::{ACCOUNT}:role/op"},
            "CapacityProviderScalingConfig": {"MaxVCpuCount": max_vcpu}})
        assert status == 202, out
        return out["CapacityProvider"]["CapacityProviderArn"]

    def function(self, name, runtime, handler, zip_b64, cp_arn, concurrency, memory=2048):
        status, out = call(self.endpoint, "POST", "/2015-03-31/functions", {
            "FunctionName": name, "Runtime": runtime, "Handler": handler,
            "Role": f"arn:aws:iam::{ACCOUNT}:role/r", "MemorySize": memory, "Timeout": 30,
            "Code": {"ZipFile": zip_b64},
            "CapacityProviderConfig": {"LambdaManagedInstancesCapacityProviderConfig": {
                "CapacityProviderArn": cp_arn, "PerExecutionEnvironmentMaxConcurrency": concurrency}}})
        assert status == 201, out

    def publish(self, name):
        status, out = call(self.endpoint, "POST", f"/2015-03-31/functions/{name}/versions", {})
        assert status == 201, out
        return out["Version"]

    def scale(self, name, version, n):
        status, out = call(self.endpoint, "PUT",
                           f"/2025-11-30/functions/{name}/function-scaling-config?Qualifier={version}",
                           {"FunctionScalingConfig": {"MinExecutionEnvironments": n,
                                                      "MaxExecutionEnvironments": n}})
        assert status == 202, out

    def wait_active(self, name, version, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, out = call(self.endpoint, "GET",
                               f"/2015-03-31/functions/{name}/configuration?Qualifier={version}")
            if out.get("State") == "Active":
                return
            if out.get("State") == "Failed":
                raise RuntimeError(f"{name}:{version} failed: {out.get('StateReason')}")
            time.sleep(0.01)
        raise RuntimeError(f"{name}:{version} not Active in time")


def wrk(url, connections, seconds):
    out = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections),
                          "-d", f"{seconds}s", "--latency", "-s", os.path.join(ROOT, "bench", "post.lua"),
                          url], capture_output=True, text=True, check=True).stdout
    def ms(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"p50_ms": ms("50"), "p99_ms": ms("99"), "rps": rps, "requests": requests,
            "non2xx": int(errors.group(1)) if errors else 0}


CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_table():
    """pid -> parent pid, for every process."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return parents


def descendants(roots):
    parents = process_table()
    out, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        for child, parent in parents.items():
            if parent == pid and child not in out:
                out.add(child)
                todo.append(child)
    return sorted(out)


def cpu_and_switches(pids):
    """(CPU seconds, context switches) of `pids` so far, all their threads counted."""
    cpu, switches = 0.0, 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                            switches += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return cpu, switches


def measured_wrk(url, connections, seconds, groups):
    """wrk, plus each process group's CPU time (µs) and the context switches per request."""
    before = {name: cpu_and_switches(pids) for name, pids in groups.items()}
    result = wrk(url, connections, seconds)
    after = {name: cpu_and_switches(pids) for name, pids in groups.items()}
    requests = max(1, result.pop("requests"))
    for name in groups:
        result[f"cpu_us_{name}"] = round((after[name][0] - before[name][0]) * 1e6 / requests, 1)
    result["ctx_switches"] = round(
        sum(after[n][1] - before[n][1] for n in groups) / requests, 2)
    return result


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def agent_pids(port):
    """The agents of the server on `port`, without the processes they fork (a sandboxed EE's
    init keeps the agent's command line)."""
    out = subprocess.run(["pgrep", "-f", f"hearth agent --server http://127.0.0.1:{port} "],
                         capture_output=True, text=True).stdout.split()
    pids = {int(p) for p in out}
    parents = process_table()
    return sorted(p for p in pids if parents.get(p) not in pids)


def hearth_invoke_points(args, results, runtimes, workers, extra=(), label=""):
    """wrk at c=1 and c=64 against one EE per runtime with `workers` processes (Python) or
    concurrent invocations (the others); results under hearth<label>-<runtime>-w<workers>-c<c>."""
    server = Server(["--router-queue-wait-ms", "2000", *extra])
    try:
        cp = server.provider("bench", max_vcpu=64)
        functions = {
            "python": ("python3.13", "app.handler", make_zip({"app.py": (PY_NOOP, 0o644)})),
            "node": ("nodejs22.x", "index.handler", make_zip({"index.mjs": (NODE_NOOP, 0o644)})),
            "provided": ("provided.al2023", "noop", make_zip({"bootstrap": (PROVIDED_NOOP, 0o755)})),
        }
        for runtime in runtimes:
            rt, handler, code = functions[runtime]
            name = f"noop-{runtime}"
            server.function(name, rt, handler, code, cp, workers)
            version = server.publish(name)
            server.wait_active(name, version)
            server.scale(name, version, 1)  # one EE: `workers` processes/threads
            time.sleep(1.0)
            url = f"{server.endpoint}/2015-03-31/functions/{name}/invocations?Qualifier={version}"
            wrk(url, 4, 1)  # warm-up
            agents = agent_pids(server.port)
            groups = {"server": [server.proc.pid], "agent": agents, "runtime": descendants(agents)}
            for c in (1, 64):
                key = f"hearth{label}-{runtime}-w{workers}-c{c}"
                results[key] = measured_wrk(url, c, args.seconds, groups)
                print(f"  {key:34s} {results[key]}", flush=True)
    finally:
        server.stop()


def baseline_points(args, results, command, port, group, key, label):
    """wrk at c=1 and c=64 against a baseline server started with `command` on `port`; its
    process tree is measured as `group`. Results under <key>-c<c>."""
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close(); break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/"
        wrk(url, 4, 1)
        groups = {group: [server.pid, *descendants([server.pid])]}
        for c in (1, 64):
            results[f"{key}-c{c}"] = measured_wrk(url, c, args.seconds, groups)
            print(f"  {label} c={c:<3d} {results[f'{key}-c{c}']}", flush=True)
    finally:
        server.send_signal(signal.SIGTERM); server.wait(timeout=30)


def uwsgi_points(args, results, processes):
    port = free_port()
    baseline_points(args, results,
                    ["uwsgi", "--http-socket", f"127.0.0.1:{port}", "--plugin", "python3",
                     "--wsgi-file", os.path.join(ROOT, "bench", "uwsgi_app.py"),
                     "--processes", str(processes), "--master", "--disable-logging",
                     "--die-on-term"],
                    port, "uwsgi", f"uwsgi-p{processes}-python",
                    f"uwsgi ({processes} processes) python")


def node_points(args, results, processes):
    """Node's own http server answering the no-op (the Node runtime's baseline)."""
    port = free_port()
    baseline_points(args, results,
                    ["node", os.path.join(ROOT, "bench", "node_app.mjs"), str(port), str(processes)],
                    port, "node", f"node-http-p{processes}",
                    f"node http ({processes} process{'es' if processes > 1 else ''})")


def bench_invoke(args, results):
    """Rounds of: Hearth with its sandbox (the default) with as many Python processes as uWSGI's
    best setting (--uwsgi-processes) and with --workers, Hearth without its sandbox, uWSGI at
    both settings, and (first round) the Node and provided runtimes and Node's own http server.
    Each point keeps the median of its rounds."""
    rounds = {}
    python_workers = sorted({args.uwsgi_processes, args.workers})
    others = [r for r in args.runtimes.split(",") if r and r != "python"]
    for r in range(args.rounds):
        print(f" round {r + 1}/{args.rounds}", flush=True)
        one = {}
        for workers in python_workers:
            hearth_invoke_points(args, one, ["python"], workers)
        if r == 0 and others:
            hearth_invoke_points(args, one, others, args.workers)
        hearth_invoke_points(args, one, ["python"], args.uwsgi_processes,
                             ["--insecure-no-sandbox"], "-nosandbox")
        if args.baselines:
            if r == 0 and "node" in others:
                node_points(args, one, 1)  # Node's http server: one process, and one per core
                node_points(args, one, os.cpu_count() or 2)
            for processes in python_workers:
                uwsgi_points(args, one, processes)
        for key, value in one.items():
            rounds.setdefault(key, []).append(value)
    for key, values in rounds.items():
        results[key] = {
            metric: round(statistics.median(v[metric] for v in values), 3) for metric in values[0]
        }
        results[key]["rounds"] = len(values)


INVOKE_ROWS = [  # (result key prefix, system, setting)
    ("hearth-python-w{u}", "Hearth, Python no-op", "1 EE x {u} processes, sandbox"),
    ("hearth-python-w{w}", "Hearth, Python no-op", "1 EE x {w} processes, sandbox"),
    ("hearth-nosandbox-python-w{u}", "Hearth, Python no-op", "1 EE x {u} processes, no sandbox"),
    ("uwsgi-p{u}-python", "uWSGI, Python no-op", "{u} processes (best on this machine)"),
    ("uwsgi-p{w}-python", "uWSGI, Python no-op", "{w} processes (as many as Hearth's)"),
    ("hearth-provided-w{w}", "Hearth, provided no-op", "1 EE x {w} threads, sandbox"),
    ("hearth-node-w{w}", "Hearth, Node no-op", "1 EE, concurrency {w}, sandbox"),
    ("node-http-p1", "Node http, no-op", "1 process"),
    ("node-http-p{n}", "Node http, no-op", "{n} processes (node:cluster)"),
]


def invoke_table(args, results):
    """The invoke points as a Markdown table: latency at c=1, throughput at c=64, and the CPU
    time per request of each process group and the context switches per request at c=64."""
    fill = {"u": args.uwsgi_processes, "w": args.workers, "n": os.cpu_count() or 2}
    lines = ["| system | setting | c=1 p50 ms | c=1 p99 ms | c=64 req/s | c=64 p99 ms "
             "| server µs | agent µs | runtime µs | switches |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    seen = set()
    for prefix, system, setting in INVOKE_ROWS:
        key = prefix.format(**fill)
        if key in seen or f"{key}-c1" not in results:
            continue
        seen.add(key)
        c1, c64 = results[f"{key}-c1"], results[f"{key}-c64"]
        own = [c64.get(f"cpu_us_{g}") for g in ("server", "agent")]
        runtime = c64.get("cpu_us_runtime", next((v for k, v in c64.items()
                                                   if k.startswith("cpu_us_")), None))
        cells = [system, setting.format(**fill), c1["p50_ms"], c1["p99_ms"], round(c64["rps"]),
                 c64["p99_ms"], *(v if v is not None else "" for v in own), runtime,
                 c64["ctx_switches"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def bench_publish(args, results):
    server = Server()
    try:
        cp = server.provider("publish", max_vcpu=64)
        times = []
        for i in range(args.publish_runs):
            name = f"pub-{i}"
            server.function(name, "python3.13", "app.handler",
                            make_zip({"app.py": (PY_NOOP, 0o644)}), cp, 4)
            start = time.perf_counter()
            version = server.publish(name)
            server.wait_active(name, version)
            times.append((time.perf_counter() - start) * 1000)
        results["publish_to_active_ms"] = {"runs": [round(t) for t in times],
                                           "median": round(statistics.median(times)),
                                           "first_with_instance_launch": round(times[0])}
        print(f"  publish -> Active (3 EEs): {results['publish_to_active_ms']}", flush=True)
    finally:
        server.stop()


def bench_memory(args, results):
    server = Server(["--instance-catalog", os.path.join(ROOT, "bench", "catalog-bench.json")])
    try:
        cp = server.provider("mem", subnets=("zone-a",), max_vcpu=15000)
        server.function("idle", "provided.al2023", "idle",
                        make_zip({"bootstrap": (IDLE_BOOTSTRAP, 0o755)}), cp, 1)
        version = server.publish("idle")
        server.scale("idle", version, 10)
        server.wait_active("idle", version, timeout=120)
        time.sleep(2)
        pids = agent_pids(server.port)
        base = sum(rss_kib(p) for p in pids)
        server.scale("idle", version, args.environments)
        deadline = time.time() + 300
        ready = 0
        while time.time() < deadline:
            time.sleep(1)
            ready = call(server.endpoint, "GET", "/_hearth/v1/fleet")[1].get("readyEnvironments", 0)
            if ready >= args.environments:
                break
        time.sleep(2)
        pids = agent_pids(server.port)
        full = sum(rss_kib(p) for p in pids)
        per_ee = (full - base) / max(1, ready - 10)  # over the EEs that came up
        results["agent_rss_per_idle_ee_kib"] = {"environments": ready, "agents": len(pids),
                                                "agent_rss_kib_at_10": base,
                                                f"agent_rss_kib_at_{args.environments}": full,
                                                "per_ee_kib": round(per_ee, 1)}
        print(f"  agent memory: {results['agent_rss_per_idle_ee_kib']}", flush=True)

        before = rss_kib(server.proc.pid)
        socks = []
        for _ in range(args.connections):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        for s in socks:
            s.recv(4096)
        time.sleep(1)
        after = rss_kib(server.proc.pid)
        results["server_rss_per_connection_kib"] = {
            "connections": len(socks), "before_kib": before, "after_kib": after,
            "per_connection_kib": round((after - before) / len(socks), 2)}
        print(f"  router memory: {results['server_rss_per_connection_kib']}", flush=True)
        for s in socks:
            s.close()
    finally:
        server.stop()


def bench_sandbox(args, results):
    """Sandbox start cost (Google Benchmark): launch() to the process running, /bin/true."""
    binary = os.path.join(os.path.dirname(HEARTH), "..", "bench", "sandbox_start_bench")
    out = subprocess.run([binary, "--benchmark_format=json"], capture_output=True, text=True,
                         check=True).stdout
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            key = "sandbox-" + b["run_name"].split("/")[0].removeprefix("BM_")
            results[key] = {"median_ms": round(b["real_time"], 3)}
            print(f"  {key:28s} {results[key]}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per point")
    parser.add_argument("--workers", type=int, default=64,
                        help="worker processes: Hearth PerExecutionEnvironmentMaxConcurrency and uWSGI --processes")
    parser.add_argument("--publish-runs", type=int, default=5)
    parser.add_argument("--environments", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--only", choices=["invoke", "publish", "memory", "sandbox"], action="append")
    parser.add_argument("--rounds", type=int, default=3, help="invoke rounds (medians are kept)")
    parser.add_argument("--uwsgi-processes", type=int, default=2,
                        help="uWSGI's best setting on this machine (2 on 2 cores)")
    parser.add_argument("--runtimes", default="python,node,provided",
                        help="Hearth runtimes to measure (Python is always measured)")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="skip uWSGI and Node's http server")
    parser.add_argument("--json", help="write results to this file")
    args = parser.parse_args()
    results = {}
    todo = args.only or ["sandbox", "invoke", "publish", "memory"]
    if "sandbox" in todo:
        print("sandbox start:", flush=True); bench_sandbox(args, results)
    if "invoke" in todo:
        print("invoke latency and throughput (wrk):", flush=True); bench_invoke(args, results)
    if "publish" in todo:
        print("publish:", flush=True); bench_publish(args, results)
    if "memory" in todo:
        print("memory:", flush=True); bench_memory(args, results)
    u, w = args.uwsgi_processes, args.workers
    if f"hearth-python-w{u}-c64" in results:
        summary = {}
        best_hearth = max((f"hearth-python-w{n}" for n in (u, w)),
                          key=lambda k: results[f"{k}-c64"]["rps"])
        h1, h64 = results[f"{best_hearth}-c1"], results[f"{best_hearth}-c64"]
        summary["hearth_python_best_setting"] = best_hearth
        # Hearth's own CPU per invoke (server + agent, not the runtime), at c=64.
        summary["hearth_cpu_us_per_invoke_c64"] = round(h64["cpu_us_server"] + h64["cpu_us_agent"], 1)
        n64 = results.get(f"hearth-nosandbox-python-w{u}-c64")
        if n64:
            summary["throughput_ratio_c64_sandbox_over_nosandbox"] = round(
                results[f"hearth-python-w{u}-c64"]["rps"] / n64["rps"], 2)
        if f"uwsgi-p{u}-python-c1" in results:
            u1, u64 = results[f"uwsgi-p{u}-python-c1"], results[f"uwsgi-p{u}-python-c64"]
            summary["added_p50_ms_c1_over_uwsgi_best"] = round(h1["p50_ms"] - u1["p50_ms"], 3)
            summary["throughput_ratio_c64_hearth_best_over_uwsgi_best"] = round(h64["rps"] / u64["rps"], 2)
            for n in (u, w):
                same = results.get(f"uwsgi-p{n}-python-c64")
                if same:
                    summary[f"throughput_ratio_c64_hearth_over_uwsgi_same_processes_{n}"] = round(
                        results[f"hearth-python-w{n}-c64"]["rps"] / same["rps"], 2)
        node_best = max((results[k] for k in results if k.startswith("node-http-") and k.endswith("-c64")),
                        key=lambda v: v["rps"], default=None)
        if node_best and f"hearth-node-w{w}-c64" in results:
            summary["throughput_ratio_c64_hearth_node_over_node_http_best"] = round(
                results[f"hearth-node-w{w}-c64"]["rps"] / node_best["rps"], 3)
        results["summary"] = summary
        print(f"\ninvoke, medians of {args.rounds} round(s) of {args.seconds} s per point:")
        print(invoke_table(args, results))
        print(f"\nsummary: {summary}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
