#!/usr/bin/env python3
"""Scaling scenarios against a real server: scripts/bench-scaling (see bench/scaling/README.md).

Each scenario starts a fresh `hearth up`, deploys a Python handler that burns 3 ms of CPU and
sleeps 200 ms (PerExecutionEnvironmentMaxConcurrency 4, 2 GiB = 1 vCPU), and drives it with
closed-loop callers whose number follows the scenario's curve. It reports the throttle rate,
p99 latency, the time from a scale-out decision to the EEs serving, EEs and instances over time,
and cost; and draws one PNG per scenario (callers, ready EEs, instances, throttles per second).
"""
import argparse, http.client, json, math, os, statistics, subprocess, sys, threading, time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from run import Server, call, make_zip  # noqa: E402  (bench/run.py)

HANDLER = """import time
def handler(event, context):
    end = time.process_time() + 0.003
    while time.process_time() < end:
        pass
    time.sleep(0.2)
    return {"ok": True}
"""


def ramp(a, b, t0, t1):
    return lambda t: a if t < t0 else b if t >= t1 else a + (b - a) * (t - t0) / (t1 - t0)


SCENARIOS = {
    # name: (seconds, callers(t), description)
    "steady": (60, lambda t: 16, "16 callers for 60 s"),
    "doubling": (60, ramp(12, 24, 20, 30), "12 callers, doubled to 24 within 10 s at t=20 s"),
    "tenfold": (100, lambda t: 6 if t < 20 else 60 if t >= 80 else 6 * 10 ** ((t - 20) / 60),
                "6 callers, 10x to 60 within 60 s from t=20 s"),
    "spike": (130, lambda t: 48 if 20 <= t < 40 else 8,
              "8 callers, a spike to 48 at t=20 s for 20 s, then back to 8"),
    "stop": (120, lambda t: 24 if t < 30 else 0,
             "24 callers for 30 s, then none: back to the minimum"),
    "daynight": (240, lambda t: 5 + 35 * (1 - math.cos(2 * math.pi * t / 240)) / 2,
                 "a compressed day: 5 to 40 callers and back over 240 s"),
}


class Load:
    """Closed-loop callers, each with its own keep-alive connection."""

    def __init__(self, endpoint, path, curve, seconds, max_callers, warmup=0):
        self.url = urllib.parse.urlparse(endpoint)
        self.path, self.curve, self.seconds, self.warmup = path, curve, seconds, warmup
        self.lock = threading.Lock()
        self.per_second = {}  # second -> [ok, throttled, failed, latencies]
        self.t0 = time.monotonic()
        self.threads = [threading.Thread(target=self.caller, args=(i,), daemon=True)
                        for i in range(max_callers)]

    def run(self):
        # Warm-up: the scenario's first load, unrecorded, so it starts from a settled fleet.
        self.t0 = time.monotonic() + self.warmup
        for th in self.threads:
            th.start()
        for th in self.threads:
            th.join()

    def caller(self, index):
        conn = None
        while True:
            t = time.monotonic() - self.t0
            if t >= self.seconds:
                return
            if index >= round(self.curve(max(t, 0))):
                time.sleep(0.05)
                continue
            if conn is None:
                conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30)
            start = time.monotonic()
            try:
                conn.request("POST", self.path, body=b"{}")
                r = conn.getresponse()
                r.read()
                status = r.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = None
            end = time.monotonic()
            if start < self.t0:
                if status == 429:
                    time.sleep(0.02)
                continue  # warm-up
            second = int(start - self.t0)
            with self.lock:
                row = self.per_second.setdefault(second, [0, 0, 0, []])
                if status == 200:
                    row[0] += 1
                    row[3].append((end - start) * 1000)
                elif status == 429:
                    row[1] += 1
                else:
                    row[2] += 1
            if status == 429:
                time.sleep(0.02)


def fleet_watch(endpoint, stop, samples, t0):
    while not stop.is_set():
        try:
            _, stats = call(endpoint, "GET", "/_hearth/v1/fleet")
            samples.append((time.monotonic() - t0, stats.get("readyEnvironments", 0),
                            stats.get("instances", 0)))
        except OSError:
            pass
        time.sleep(0.1)


def seconds_to_minimum(fleet, curve, seconds, minimum=3):
    """For a scenario whose load ends before it does: seconds from the last load to the fleet
    back at `minimum` ready EEs (None when the load never ends or it never got back)."""
    last_load = max((t for t in range(int(seconds)) if round(curve(t)) > 0), default=None)
    if last_load is None or last_load >= seconds - 2:
        return None
    back = next((t for t, ready, _ in fleet if t > last_load + 1 and ready <= minimum), None)
    return round(back - (last_load + 1), 1) if back is not None else None


def run_scenario(name, args):
    seconds, curve, description = SCENARIOS[name]
    seconds = seconds * args.scale
    scaled = (lambda t: curve(t / args.scale))
    server = Server()
    try:
        cp_arn = server.provider("scaling", max_vcpu=args.max_vcpus)
        time.sleep(0.5)
        server.function("burn", "python3.13", "app.handler", make_zip({"app.py": (HANDLER, 0o644)}),
                        cp_arn, 4)
        for _ in range(200):
            _, f = call(server.endpoint, "GET", "/2015-03-31/functions/burn/configuration")
            if f.get("State") != "Pending":
                break
            time.sleep(0.1)
        version = server.publish("burn")
        server.wait_active("burn", version)
        time.sleep(2)
        baseline = {}

        def take_baseline():  # when the measured part starts, after the warm-up
            time.sleep(args.warmup)
            baseline["cost"] = call(server.endpoint, "GET", "/_hearth/v1/cost")[1]
            baseline["after"] = call(server.endpoint, "GET", "/_hearth/v1/activity?limit=2000")[1].get("Next", 0)
        wall0 = time.time() + args.warmup
        baseliner = threading.Thread(target=take_baseline, daemon=True)
        baseliner.start()
        max_callers = int(max(curve(t / 10) for t in range(int(SCENARIOS[name][0] * 10) + 1))) + 1
        load = Load(server.endpoint, f"/2015-03-31/functions/burn/invocations?Qualifier={version}",
                    scaled, seconds, max_callers, args.warmup)
        stop = threading.Event()
        fleet = []
        watcher = threading.Thread(target=fleet_watch,
                                   args=(server.endpoint, stop, fleet, time.monotonic() + args.warmup),
                                   daemon=True)
        watcher.start()
        load.run()
        stop.set()
        watcher.join()
        baseliner.join()
        cost0 = baseline["cost"]
        _, cost1 = call(server.endpoint, "GET", "/_hearth/v1/cost")
        # The per-second samples the scaler saw: a recorded trace for its replay test.
        _, history = call(server.endpoint, "GET", "/_hearth/v1/metrics/history?seconds=900&function=burn")
        with open(os.path.join(args.out, name + "-history.json"), "w") as f:
            json.dump(history, f)
        _, act = call(server.endpoint, "GET",
                      f"/_hearth/v1/activity?after={baseline['after']}&limit=2000")
    finally:
        server.stop()

    # Decision -> serving: for each ScaleOut to N EEs, until the fleet first shows N ready.
    delays = []
    for e in act.get("Entries", []):
        if e["Kind"] != "ScaleOut":
            continue
        at = time.mktime(time.strptime(e["Time"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        at += int(e["Time"][20:23]) / 1000 - wall0
        ready_at = next((t for t, ready, _ in fleet if t >= at and ready >= e["To"]), None)
        if ready_at is not None:
            delays.append((ready_at - at) * 1000)
    fleet = [f for f in fleet if f[0] >= 0]
    rows = sorted(load.per_second.items())
    ok = sum(r[0] for _, r in rows)
    throttled = sum(r[1] for _, r in rows)
    failed = sum(r[2] for _, r in rows)
    latencies = sorted(l for _, r in rows for l in r[3])
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0
    cost = sum(p["Total"] for p in cost1["CapacityProviders"]) - \
        sum(p["Total"] for p in cost0.get("CapacityProviders", []))
    result = {
        "scenario": name, "description": description, "seconds": seconds,
        "requests": ok + throttled + failed, "ok": ok, "throttled": throttled, "failed": failed,
        "throttle_rate_pct": round(100 * throttled / max(1, ok + throttled + failed), 3),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else 0,
        "p99_ms": round(p99, 1),
        "scale_outs": len(delays),
        "decision_to_serving_ms_median": round(statistics.median(delays)) if delays else None,
        "decision_to_serving_ms_max": round(max(delays)) if delays else None,
        "seconds_to_minimum_after_last_load": seconds_to_minimum(fleet, scaled, seconds),
        "ready_max": max((r for _, r, _ in fleet), default=0),
        "ready_end": fleet[-1][1] if fleet else 0,
        "instances_max": max((i for _, _, i in fleet), default=0),
        "cost_usd": round(cost, 6),
    }
    out = os.path.join(args.out, name)
    with open(out + ".dat", "w") as f:
        f.write("# second callers ready instances ok_per_s throttled_per_s\n")
        for second in range(int(seconds)):
            ready = [r for t, r, _ in fleet if second <= t < second + 1]
            inst = [i for t, _, i in fleet if second <= t < second + 1]
            row = load.per_second.get(second, [0, 0, 0, []])
            f.write(f"{second} {scaled(second):.1f} {max(ready, default=0)} {max(inst, default=0)} "
                    f"{row[0]} {row[1]}\n")
    subprocess.run(["gnuplot", "-e", f"dat='{out}.dat'; png='{out}.png'; title='{name}: {description}'",
                    os.path.join(HERE, "plot.gp")], check=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--scale", type=float, default=1.0, help="stretch every scenario in time")
    parser.add_argument("--max-vcpus", type=int, default=96)
    parser.add_argument("--warmup", type=float, default=20,
                        help="seconds at the scenario's first load before measuring")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    summary = os.path.join(args.out, "summary.json")
    results = []
    if os.path.exists(summary):  # a run of some scenarios keeps the others' figures
        with open(summary) as f:
            results = [r for r in json.load(f) if r["scenario"] not in (args.only or SCENARIOS)]
    for name in args.only or list(SCENARIOS):
        print(f"scenario {name}: {SCENARIOS[name][2]}", flush=True)
        r = run_scenario(name, args)
        print(f"  {json.dumps(r)}", flush=True)
        results.append(r)
    results.sort(key=lambda r: list(SCENARIOS).index(r["scenario"]))
    with open(summary, "w") as f:
        json.dump(results, f, indent=1)
    print("PNGs and data in", args.out)


if __name__ == "__main__":
    main()
