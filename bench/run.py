#!/usr/bin/env python3
"""sfn benchmark suite: `make bench` (full) or `make bench BENCH_QUICK=1`.

Starts Debian's nginx on 127.0.0.1 (a free port, a temporary prefix, one
worker, no access log) answering POSTs with prebuilt ListMapRuns replies
(bench/gen_replies.py) and, with ngx_lua, generated pages for the memory
bench; runs every bench against it side by side in this one run; stops
nginx; prints a table of every figure against its target, and writes
OUT/results.json and OUT/results.md.

The `ngx` bench starts a second nginx (one worker, ngx_lua on LuaJIT) that
calls the first from inside the worker: sfn over cosockets against a bare
cosocket loop sending the same request bytes (bench/ngx_bench.lua), timed
in the worker; then requests/s of each under Debian's wrk.

Wall-clock figures are medians over alternating rounds; ratios are taken
within a round (A and B back to back) and the median of those is reported.
Callgrind figures are instruction counts per operation, taken as the
difference between two runs of different lengths (so start-up and warm-up
cancel out): deterministic, unaffected by other load on the machine.

Quick mode runs every bench once, briefly, and asserts nothing.
"""

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
ARN = ("arn:aws:states:us-east-1:123456789012:execution:orders-nightly-reconcile:"
       "run-2024-11-24T02-00-00Z-7d3f9a1c")
KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NGINX_MODULES = "/usr/lib/nginx/modules"

# Per-call targets against the raw libcurl loop (issue 10).
CALL_TARGET = {"lua5.4": 1.6, "luajit": 1.5}
CALL_IR_TARGET = 400e3  # client-side instructions per call, lua5.4
DECODE_TARGET = 0.12    # core.decode_reply / cjson.decode, 1,000 items
HEAP_TARGET = 220e3     # bytes of Lua heap one 1,000-item page holds

INTERPS = {
    # name: (command, build dir of sfn.core, bench helper dir)
    "lua5.4": ("lua5.4", "build", "lua5.4"),
    "luajit": ("luajit", "build/luajit", "luajit"),
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# environment


def clean_env(extra=None):
    """The caller's environment without any AWS setup, proxies bypassed for
    loopback, and nothing that could reach a real address."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({
        "AWS_CONFIG_FILE": "/nonexistent/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    })
    if extra:
        env.update(extra)
    return env


def lua_env(interp, out):
    """The environment for a Lua bench: the checkout's Lua files, its build
    of sfn.core, the bench helpers."""
    _, build, helper = INTERPS[interp]
    out = os.path.abspath(out)
    return clean_env({
        "LUA_PATH": f"{ROOT}/lua/?.lua;{ROOT}/lua/?/init.lua;;",
        "LUA_CPATH": f"{ROOT}/{build}/?.so;{out}/{helper}/?.so;;",
    })


def run_json(cmd, env, timeout=600, cwd=ROOT):
    """Runs cmd, returns the JSON objects it printed, one per line."""
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------
# nginx


class Nginx:
    """Debian's nginx in a temporary prefix on 127.0.0.1, answering POSTs
    with the fixed replies bench/gen_replies.py writes (and, with ngx_lua,
    generated pages)."""

    TEMPLATE = "nginx-fixed.conf.template"

    def __init__(self, tmp):
        self.tmp = tmp
        self.proc = None
        self.port = None
        self.data = os.path.join(tmp, "data")
        self.has_lua = all(os.path.exists(f"{NGINX_MODULES}/{m}")
                           for m in ("ndk_http_module.so", "ngx_http_lua_module.so"))

    def substitutions(self, port):
        lua = self.has_lua
        return {
            "@LOAD_LUA@": (f"load_module {NGINX_MODULES}/ndk_http_module.so;\n"
                           f"load_module {NGINX_MODULES}/ngx_http_lua_module.so;") if lua else "",
            "@LUA_HTTP@": f'    lua_package_path "{BENCH}/?.lua;;";' if lua else "",
            "@LUA_LOCATION@": ("        location /gen/ {\n"
                               "            content_by_lua_block { require(\"nginx_gen\").content() }\n"
                               "        }") if lua else "",
            "@USER@": "user root root;" if os.geteuid() == 0 else "",
            "@PREFIX@": self.tmp,
            "@DATA@": self.data,
            "@PORT@": str(port),
        }

    def render(self, port):
        with open(os.path.join(BENCH, self.TEMPLATE)) as f:
            conf = f.read()
        for k, v in self.substitutions(port).items():
            conf = conf.replace(k, v)
        path = os.path.join(self.tmp, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        return path

    def prepare(self):
        os.makedirs(self.data, exist_ok=True)
        subprocess.run([sys.executable, os.path.join(BENCH, "gen_replies.py"), self.data], check=True)

    def start(self):
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.tmp, "tmp", d), exist_ok=True)
        self.prepare()
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        for _ in range(5):
            port = free_port()
            conf = self.render(port)
            self.proc = subprocess.Popen([nginx, "-p", self.tmp, "-c", conf, "-e", os.path.join(self.tmp, "error.log")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env())
            for _ in range(100):
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    self.port = port
                    self.check()
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"{self.TEMPLATE}: nginx did not start:\n" + self.error_log())

    def error_log(self):
        try:
            with open(os.path.join(self.tmp, "error.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def check(self):
        req = urllib.request.Request(self.url("/r100.json"), data=b"{}", method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            body = r.read()
            assert r.status == 200 and r.headers["Content-Type"] == "application/x-amz-json-1.0", r.headers
            assert len(json.loads(body)["mapRuns"]) == 100
        if self.has_lua:
            req = urllib.request.Request(self.url("/gen/2/3"), data=b'{"nextToken":"g1"}', method="POST")
            with urllib.request.urlopen(req, timeout=5) as r:
                page = json.loads(r.read())
                assert len(page["mapRuns"]) == 3 and "nextToken" not in page, page

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class ClientNginx(Nginx):
    """The `ngx` bench's second nginx: one worker with ngx_lua that calls the
    fixed-reply nginx with sfn over cosockets and with a bare cosocket loop
    (bench/nginx-client.conf.template, bench/ngx_bench.lua). Its prefix is
    a folder of the suite's temporary directory."""

    TEMPLATE = "nginx-client.conf.template"

    def __init__(self, tmp, fixed_port, out):
        super().__init__(os.path.join(tmp, "ngx-client"))
        self.fixed_port = fixed_port
        self.out = out
        # no proxies, even for loopback
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def substitutions(self, port):
        return {
            "@MODULES@": NGINX_MODULES,
            "@USER@": "user root root;" if os.geteuid() == 0 else "",
            "@PREFIX@": self.tmp,
            "@ROOT@": ROOT,
            "@CPATH@": f"{ROOT}/{INTERPS['luajit'][1]}/?.so;{self.out}/{INTERPS['luajit'][2]}/?.so",
            "@FIXED_PORT@": str(self.fixed_port),
            "@KEY@": KEY_ID,
            "@SECRET@": SECRET,
            "@PORT@": str(port),
        }

    def prepare(self):
        pass  # it serves no files

    def check(self):
        pass  # the benches' own requests check it

    def get(self, path, timeout=300):
        try:
            with self.opener.open(self.url(path), timeout=timeout) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"client nginx {path}: HTTP {e.code}: {e.read().decode()[:500]}\n"
                               + self.error_log()) from None

    def loop(self, which, page, n):
        return json.loads(self.get(f"/loop?which={which}&page={page}&n={n}"))

    def pair(self, page, n, chunks=10):
        return json.loads(self.get(f"/pair?page={page}&n={n}&chunks={chunks}"))


def wrk(url, seconds, conns=20, threads=2):
    """Requests/s from Debian's wrk; raises when any reply was not 2xx/3xx
    or a socket error was counted."""
    p = subprocess.run(["wrk", f"-c{conns}", f"-t{threads}", f"-d{seconds}s", url], env=clean_env(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s*([0-9.]+)", p.stdout)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk {url} failed:\n{p.stdout[-1500:]}")
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", p.stdout)
    errs = re.search(r"Socket errors:.*", p.stdout)
    if bad or (errs and re.search(r"[1-9]", errs.group(0))):
        raise RuntimeError(f"wrk {url}: failed requests:\n{p.stdout[-1500:]}")
    return float(m.group(1))


# --------------------------------------------------------------------------
# callgrind


def callgrind_ir(cmd, env, tmp, toggle=None):
    """Total instructions executed by cmd under callgrind (client side
    only: the server is another process)."""
    out = os.path.join(tmp, "cg.out")
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if toggle:
        vg.append(f"--toggle-collect={toggle}")
    p = subprocess.run(vg + cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=1800)
    if p.returncode != 0:
        raise RuntimeError(f"callgrind {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    os.unlink(out)
    return total


def ir_per_op(make_cmd, env, tmp, n1, n2):
    """Instructions per operation: (Ir(n2) - Ir(n1)) / (n2 - n1)."""
    a = callgrind_ir(make_cmd(n1), env, tmp)
    b = callgrind_ir(make_cmd(n2), env, tmp)
    return (b - a) / (n2 - n1)


# --------------------------------------------------------------------------
# benches


def median(xs):
    return statistics.median(xs)


class Suite:
    def __init__(self, args, tmp, nginx):
        self.a = args
        self.q = args.quick
        self.tmp = tmp
        self.ng = nginx
        self.out = args.out
        self.rows = []     # (figure, measured text, target text, met or None, kind)
        self.data = {}
        self.interps = [i for i in args.interps.split(",") if i]

    def row(self, figure, measured, target, met, kind):
        if self.q:
            met = None  # quick mode checks that the benches run, not the numbers
        self.rows.append({"figure": figure, "measured": measured, "target": target,
                          "met": met, "kind": kind})
        log(f"  {figure}: {measured}  (target {target}) {'' if met is None else ('met' if met else 'NOT met')}")

    # 1. transport: list_map_runs vs the raw libcurl loop -------------------
    def transport(self):
        log("[1] list_map_runs (100-item pages) vs the raw libcurl loop")
        rounds = 1 if self.q else self.a.rounds
        n = 100 if self.q else 2000
        url = self.ng.url("/r100.json")
        raw_cmd = [os.path.join(self.out, "raw_loop"), url, str(n)]
        body = os.path.join(self.ng.data, "r100.json")
        per, ratios, floors = {"raw": []}, {}, {}
        per["raw with sfn's curl options"] = []
        for r in range(rounds):
            raw = run_json(raw_cmd, clean_env())[0]["ns_per_call"]
            per["raw"].append(raw)
            per["raw with sfn's curl options"].append(
                run_json(raw_cmd + [str(n // 10 + 1), "sfn"], clean_env())[0]["ns_per_call"])
            for i in self.interps:
                ns = run_json([INTERPS[i][0], "bench/bench.lua", "call", url, str(n)],
                              lua_env(i, self.out))[0]["ns_per_call"]
                per.setdefault(i, []).append(ns)
                ratios.setdefault(i, []).append(ns / raw)
                # The floor: the raw loop plus making the page's tables with
                # no parsing (bench/page_floor.c), what any Lua client must do.
                tables = run_json([INTERPS[i][0], "bench/bench.lua", "decode", body, "1", str(n)],
                                  lua_env(i, self.out))[0]["floor_ns"]
                floors.setdefault(i, []).append((raw + tables) / raw)
            log(f"    round {r + 1}: " + ", ".join(f"{k} {v[-1] / 1e3:.0f} us" for k, v in per.items()))
        self.data["transport"] = {"per_call_ns": per, "ratios": ratios, "floor_ratios": floors, "n": n}
        raw = median(per["raw"])
        opt = median(per["raw with sfn's curl options"])
        self.row("raw libcurl loop per 100-item call: plain, and with the options src/http.c sets",
                 f"{raw / 1e3:.0f} µs; {opt / 1e3:.0f} µs with sfn's options", "", None, "wall")
        for i in ratios:
            ratio = median(ratios[i])
            target = CALL_TARGET[i]
            self.row(f"`client:list_map_runs`, 100-item page, per call vs raw libcurl loop ({i})",
                     f"{ratio:.2f}× ({median(per[i]) / 1e3:.0f} µs vs {raw / 1e3:.0f} µs); floor "
                     f"{median(floors[i]):.2f}× (raw loop + the page's tables made with no parsing)",
                     f"≤ {target}×", ratio <= target if not self.q else None, "wall")

    # 2. decode ---------------------------------------------------------------
    def decode(self):
        log("[2] core.decode_reply vs cjson.decode vs the floor, 1,000-item reply")
        rounds = 1 if self.q else self.a.rounds + 2
        n = 5 if self.q else 200
        body = os.path.join(self.ng.data, "r1000.json")
        self.data["decode"] = {}
        for i in self.interps:
            env = lua_env(i, self.out)
            res = run_json([INTERPS[i][0], "bench/bench.lua", "decode", body, str(rounds), str(n)], env)
            sfn = [x["sfn_ns"] for x in res]
            cj = [x["cjson_ns"] for x in res]
            fl = [x["floor_ns"] for x in res]
            ratio = median([x["sfn_ns"] / x["cjson_ns"] for x in res])
            floor = median([x["floor_ns"] / x["cjson_ns"] for x in res])
            self.data["decode"][i] = {"sfn_ns": sfn, "cjson_ns": cj, "floor_ns": fl, "bytes": res[0]["bytes"]}
            self.row(f"`core.decode_reply` vs lua-cjson `decode`, 1,000-item reply ({i})",
                     f"{ratio:.2f}× ({median(sfn) / 1e3:.0f} µs vs {median(cj) / 1e3:.0f} µs)",
                     f"≤ {DECODE_TARGET}×", ratio <= DECODE_TARGET if not self.q else None, "wall")
            self.row(f"floor: the same tables made with no parsing (bench/page_floor.c) vs lua-cjson ({i})",
                     f"{floor:.2f}× ({median(fl) / 1e3:.0f} µs); the decoder's parsing adds "
                     f"{(median(sfn) - median(fl)) / 1e3:.0f} µs", "", None, "wall")

    # 2b. heap ----------------------------------------------------------------
    def heap(self):
        log("[2b] Lua heap one decoded 1,000-item page holds")
        body = os.path.join(self.ng.data, "r1000.json")
        self.data["heap"] = {}
        for i in self.interps:
            r = run_json([INTERPS[i][0], "bench/bench.lua", "heap", body], lua_env(i, self.out))[0]
            self.data["heap"][i] = r
            n = r["items"]
            self.row(f"Lua heap held by one 1,000-item page: `core.decode_reply`; lua-cjson; the floor "
                     f"(the same tables made with no parsing) ({i})",
                     f"{r['sfn_bytes'] / 1e3:.0f} KB ({r['sfn_bytes'] / n:.0f} B per Map Run); "
                     f"{r['cjson_bytes'] / 1e3:.0f} KB; {r['floor_bytes'] / 1e3:.0f} KB",
                     f"≤ {HEAP_TARGET / 1e3:.0f} KB", r["sfn_bytes"] <= HEAP_TARGET if not self.q else None,
                     "heap")

    # 3. signing --------------------------------------------------------------
    def sign(self):
        log("[3] SigV4 signature, warm signing-key cache")
        n = 2000 if self.q else 200000
        res = {x["op"]: x["ns"] for x in run_json([os.path.join(self.out, "sign_loop"), str(n)], clean_env())}
        self.data["sign_c"] = res
        us = res["authorize"] / 1e3
        self.row("SigV4 signature, warm key cache (C `sfn_sigv4_authorize`, as each call signs)",
                 f"{us:.2f} µs", "≤ 5 µs", us <= 5, "wall")
        self.row("OpenSSL 3 primitives as the signer calls them vs reused contexts",
                 f"SHA-256 of 400 B: one-shot `SHA256()` {res['sha256_oneshot'] / 1e3:.2f} µs, reused "
                 f"`EVP_MD_CTX` {res['sha256_ctx_reuse'] / 1e3:.2f} µs; HMAC-SHA256 of 120 B: one-shot "
                 f"`HMAC()` {res['hmac_oneshot'] / 1e3:.2f} µs, precomputed ipad/opad contexts "
                 f"{res['hmac_precomputed'] / 1e3:.2f} µs", "", None, "wall")
        self.data["sign_lua"] = {}
        for i in self.interps:
            lres = {x["op"]: x["ns"] for x in run_json(
                [INTERPS[i][0], "bench/bench.lua", "sign", str(n // 4)], lua_env(i, self.out))}
            self.data["sign_lua"][i] = lres
            us = lres["core.sign"] / 1e3
            self.row(f"SigV4 via the public `core.sign` (table in, table out; warm key cache) ({i})",
                     f"{us:.2f} µs", "≤ 5 µs", us <= 5, "wall")
            self.row(f"`core.build_request` (validation, JSON body, headers, signature; this seam "
                     f"derives the key every time: no cache) ({i})",
                     f"{lres['core.build_request'] / 1e3:.2f} µs", "", None, "wall")

    # 4. memory ---------------------------------------------------------------
    def memory(self):
        log("[4] peak RSS: iterating 1,000,000 Map Runs vs 1,000")
        if not self.ng.has_lua:
            self.row("peak RSS, 1,000,000 vs 1,000 Map Runs", "skipped: nginx has no ngx_lua",
                     "within 2 MiB", None, "rss")
            return
        pages = 10 if self.q else 1000
        self.data["memory"] = {}
        for i in self.interps:
            env = lua_env(i, self.out)
            small = run_json([INTERPS[i][0], "bench/bench.lua", "iterate", self.ng.url("/gen/1/1000"), "1000"], env)[0]
            big = run_json([INTERPS[i][0], "bench/bench.lua", "iterate",
                            self.ng.url(f"/gen/{pages}/1000"), "1000"], env, timeout=1800)[0]
            assert small["items"] == 1000 and big["items"] == pages * 1000, (small, big)
            diff = (big["vm_hwm_kib"] - small["vm_hwm_kib"]) / 1024
            self.data["memory"][i] = {"small": small, "big": big}
            self.row(f"peak RSS, {big['items']:,} vs 1,000 Map Runs via `map_runs` ({i})",
                     f"+{diff:.2f} MiB ({big['vm_hwm_kib'] / 1024:.1f} MiB vs {small['vm_hwm_kib'] / 1024:.1f} MiB; "
                     f"{big['ns_per_item'] / 1e3:.1f} µs per Map Run)",
                     "within 2 MiB", diff <= 2.0 if not self.q else None, "rss")

    # 5. start-up -------------------------------------------------------------
    def startup(self):
        log("[5] start-up: require \"sfn\" + sfn.new{...} in a fresh interpreter")
        k = 3 if self.q else 40
        self.data["startup"] = {}
        for i in self.interps:
            env = lua_env(i, self.out)
            xs = [run_json([INTERPS[i][0], "bench/bench.lua", "startup"], env)[0]["ns"] for _ in range(k)]
            ms, best = median(xs) / 1e6, min(xs) / 1e6
            self.data["startup"][i] = {"in_process_ns": xs}
            self.row(f"start-up: `require \"sfn\"` + `sfn.new{{...}}`, timed inside a fresh interpreter ({i})",
                     f"{ms:.2f} ms median of {k} processes (best {best:.2f} ms)", "≤ 2 ms", ms <= 2, "wall")
            self.startup_processes(i, env)

    # Whole fresh processes: hyperfine when installed, else timed from here
    # (posix_spawn to exit, the commands in alternating rounds).
    def startup_times(self, cmds, env, runs):
        hf = shutil.which("hyperfine")
        if hf:
            j = os.path.join(self.tmp, "hf.json")
            subprocess.run([hf, "-N", "--warmup", "3", "--runs", str(runs),
                            "--export-json", j, "--style", "none"] + [c for _, c in cmds],
                           env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            with open(j) as f:
                r = json.load(f)["results"]
            return "hyperfine", {name: x["times"] for (name, _), x in zip(cmds, r)}
        null = os.open(os.devnull, os.O_RDWR)
        acts = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1)]
        argvs = [(name, shlex.split(c)) for name, c in cmds]

        def once(argv):
            t0 = time.perf_counter()
            pid = os.posix_spawnp(argv[0], argv, env, file_actions=acts)
            _, status = os.waitpid(pid, 0)
            t1 = time.perf_counter()
            assert status == 0, (argv, status)
            return t1 - t0
        old = os.getcwd()
        os.chdir(ROOT)
        try:
            for _ in range(3):
                for _, argv in argvs:
                    once(argv)
            times = {name: [] for name, _ in cmds}
            for _ in range(runs):
                for name, argv in argvs:
                    times[name].append(once(argv))
        finally:
            os.chdir(old)
            os.close(null)
        return "posix_spawn", times

    def startup_processes(self, i, env):
        """Whole fresh processes, and where the time goes: the bare
        interpreter, loading the shared libraries sfn.core links (and
        libcrypto, mapped on first use, and libcurl), luaopen, the Lua
        modules, sfn.new with options, sfn.new with only the environment."""
        lua = INTERPS[i][0]
        libdir = "/usr/lib/x86_64-linux-gnu"
        def loadlib(*libs):
            return " ".join(f"assert(package.loadlib([[{libdir}/{l}]],[[*]]));" for l in libs)
        core = os.path.join(ROOT, INTERPS[i][1], "sfn", "core.so")
        cmds = [
            ("bare", f"{lua} -e ''"),
            ("libcjson+libexpat", f"{lua} -e '{loadlib('libcjson.so.1', 'libexpat.so.1')}'"),
            ("libcrypto alone", f"{lua} -e '{loadlib('libcrypto.so.3')}'"),
            ("libcurl alone", f"{lua} -e '{loadlib('libcurl.so.4')}'"),
            ("dlopen core.so", f"{lua} -e 'assert(package.loadlib([[{core}]],[[*]]))'"),
            ("require sfn.core", f"{lua} -e 'require[[sfn.core]]'"),
            ("require sfn", f"{lua} -e 'require[[sfn]]'"),
            ("require sfn + sfn.new", f"{lua} bench/startup.lua"),
            ("require sfn + sfn.new from env", f"{lua} bench/startup.lua env"),
        ]
        if not all(os.path.exists(f"{libdir}/{l}") for l in
                   ("libcrypto.so.3", "libcjson.so.1", "libexpat.so.1", "libcurl.so.4")):
            cmds = [c for c in cmds if "lib" not in c[0] or c[0] == "dlopen core.so"]
        # region and credentials for the env row; the others ignore them
        env = dict(env, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)
        how, times = self.startup_times(cmds, env, 5 if self.q else 50)
        ms = {name: median(x) * 1e3 for name, x in times.items()}
        best = {name: min(x) * 1e3 for name, x in times.items()}
        self.data["startup"][i]["process_timer"] = how
        self.data["startup"][i]["process_median_ms"] = ms
        self.data["startup"][i]["process_min_ms"] = best
        bare = ms["bare"]
        for name, script in (("require sfn + sfn.new", "bench/startup.lua"),
                             ("require sfn + sfn.new from env", "bench/startup.lua env")):
            full = ms[name]
            self.row(f"start-up, whole process ({how}): `{lua} {script}` minus `{lua} -e ''` ({i})",
                     f"{full - bare:.2f} ms ({full:.2f} ms vs {bare:.2f} ms, medians of {len(times[name])}; "
                     f"best-case difference {best[name] - best['bare']:.2f} ms)", "≤ 2 ms", full - bare <= 2, "wall")
        # Fastest run of each: noise on a shared machine only adds time.
        detail = "; ".join(f"{name} {v - best['bare']:+.2f}" for name, v in best.items() if name != "bare")
        self.row(f"start-up breakdown, ms over the bare interpreter, fastest of each ({i})", detail, "", None, "wall")

    # 6. peers ----------------------------------------------------------------
    def boto3(self):
        log("[6a] boto3, the same calls against the same server")
        py = self.a.python
        if subprocess.run([py, "-c", "import boto3"], capture_output=True).returncode != 0:
            self.row("boto3 calls/s vs ours", f"skipped: {py} has no boto3", "≥ 10×", None, "wall")
            return
        rounds = 1 if self.q else 3
        n_b, n_s = (30, 100) if self.q else (400, 2000)
        url = self.ng.url("/r100.json")
        b, s, ratios, starts = [], {}, {}, []
        info = None
        for _ in range(rounds):
            info = run_json([py, "bench/peer_boto3.py", url, str(n_b)], clean_env())[0]
            b.append(info["ns_per_call"])
            starts.append(info["startup_ns"])
            for i in self.interps:
                ns = run_json([INTERPS[i][0], "bench/bench.lua", "call", url, str(n_s)],
                              lua_env(i, self.out))[0]["ns_per_call"]
                s.setdefault(i, []).append(ns)
                ratios.setdefault(i, []).append(info["ns_per_call"] / ns)
        self.data["boto3"] = {"ns_per_call": b, "startup_ns": starts, "ours_ns": s, "ratios": ratios,
                              "versions": {k: info[k] for k in ("boto3", "botocore", "python")}}
        for i in ratios:
            ratio = median(ratios[i])
            self.row(f"vs boto3 {info['boto3']} (Python {info['python']}), calls/s net of start-up ({i})",
                     f"{ratio:.1f}× ({1e9 / median(s[i]):,.0f} vs {1e9 / median(b):,.0f} calls/s; "
                     f"boto3 start-up {median(starts) / 1e6:.0f} ms)",
                     "≥ 10×", ratio >= 10 if not self.q else None, "wall")

    def cli(self):
        self.cli_json()
        log("[6b] one `aws stepfunctions list-map-runs` vs one `sfn-map-runs`")
        aws = self.a.aws or ("/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws"))
        tool = os.path.join(ROOT, "bin", "sfn-map-runs")
        if not aws:
            self.row("one `aws stepfunctions list-map-runs` vs one `sfn-map-runs`", "skipped: no aws CLI",
                     "≥ 50×", None, "wall")
            return
        if not os.path.exists(tool):
            self.row("one `aws stepfunctions list-map-runs` vs one `sfn-map-runs`",
                     "skipped: bin/sfn-map-runs not there yet", "≥ 50×", None, "wall")
            return
        url = self.ng.url("/r100-last.json")
        env = clean_env({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
                         "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_PAGER": ""})
        version = subprocess.run([aws, "--version"], env=env, capture_output=True, text=True).stdout.strip().split()[0]
        cmds = {}
        cmds["aws"] = [aws, "stepfunctions", "list-map-runs", "--execution-arn", ARN,
                       "--endpoint-url", url, "--region", "us-east-1", "--output", "json"]
        res = {}
        for i in self.interps:
            cmds[i] = [INTERPS[i][0], tool, ARN, "--region", "us-east-1", "--endpoint", url]
        # Check each once, and that both list the 100 runs.
        for name, cmd in cmds.items():
            e = lua_env(name, self.out) if name in INTERPS else env
            if name in INTERPS:
                e.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET})
            p = subprocess.run(cmd, env=e, cwd=ROOT, capture_output=True, text=True, timeout=120)
            if p.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-1500:]}")
        runs = 2 if self.q else 15
        times = {name: [] for name in cmds}
        for _ in range(runs):  # interleaved, one invocation each per round
            for name, cmd in cmds.items():
                e = lua_env(name, self.out) if name in INTERPS else env
                if name in INTERPS:
                    e.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET})
                t0 = time.perf_counter_ns()
                subprocess.run(cmd, env=e, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=True, timeout=120)
                times[name].append(time.perf_counter_ns() - t0)
        self.data["cli"] = {"ns": times, "aws": version}
        a = median(times["aws"])
        for i in self.interps:
            ratio = a / median(times[i])
            self.row(f"one `aws stepfunctions list-map-runs` ({version}) vs one `sfn-map-runs` ({i}), 100 runs",
                     f"{ratio:.0f}× ({a / 1e6:.0f} ms vs {median(times[i]) / 1e6:.1f} ms)",
                     "≥ 50×", ratio >= 50, "wall")

    # 7. inside nginx -----------------------------------------------------------
    def ngx(self):
        log("[7] inside nginx (ngx_lua, LuaJIT): list_map_runs over cosockets vs a bare cosocket loop")
        if not self.ng.has_lua:
            self.row("inside nginx: `list_map_runs` vs a bare cosocket loop", "skipped: nginx has no ngx_lua",
                     "≤ 1.8×", None, "wall")
            return
        q = self.q
        rounds = 1 if q else self.a.rounds
        sizes = {"r100": 200 if q else 2000, "r1000": 20 if q else 300}
        client = ClientNginx(self.tmp, self.ng.port, self.out)
        data = {"per_call_ns": {}, "ratios": {}, "n": sizes, "wrk": {}}
        try:
            client.start()
            log(f"    client nginx on 127.0.0.1:{client.port} (prefix {client.tmp})")
            for page, n in sizes.items():
                per = {"sfn": [], "floor": []}
                ratios = []
                for r in range(rounds):
                    # one round: both, interleaved in blocks inside the worker
                    got = client.pair(page, n)
                    for w in ("sfn", "floor"):
                        per[w].append(got[f"{w}_ns_per_call"])
                    ratios.append(per["sfn"][-1] / per["floor"][-1])
                    log(f"    {page} round {r + 1}: sfn {per['sfn'][-1] / 1e3:.1f} us, "
                        f"floor {per['floor'][-1] / 1e3:.1f} us, {ratios[-1]:.2f}x")
                data["per_call_ns"][page] = per
                data["ratios"][page] = ratios
                data["request_bytes"] = got["request_bytes"]
                ratio = median(ratios)
                items = "100-item" if page == "r100" else "1,000-item"
                target = "≤ 1.8×" if page == "r100" else ""
                self.row(f"inside nginx (ngx_lua, LuaJIT, one worker): `client:list_map_runs` over cosockets "
                         f"vs a bare cosocket loop (same request bytes, same reply; no signing, no decoding), "
                         f"{items} page, per call",
                         f"{ratio:.2f}× ({median(per['sfn']) / 1e3:.0f} µs vs {median(per['floor']) / 1e3:.0f} µs)",
                         target, (ratio <= 1.8) if page == "r100" else None, "wall")
            if not shutil.which("wrk"):
                self.row("inside nginx, requests/s under `wrk -c20 -t2 -d5s`, one call per request",
                         "skipped: no wrk (Debian package wrk)", "", None, "wall")
                return
            secs = 1 if q else 5
            wrounds = 1 if q else 3
            rps = {"sfn": [], "floor": []}
            wratios = []
            for r in range(wrounds):
                order = ("sfn", "floor") if r % 2 == 0 else ("floor", "sfn")
                got = {w: wrk(client.url(f"/one/{w}"), secs) for w in order}
                for w in order:
                    rps[w].append(got[w])
                wratios.append(got["floor"] / got["sfn"])
                log(f"    wrk round {r + 1}: sfn {got['sfn']:,.0f} req/s, floor {got['floor']:,.0f} req/s")
            data["wrk"] = {"seconds": secs, "req_per_s": rps, "floor_over_sfn": wratios}
            ratio = median(wratios)
            self.row(f"inside nginx, requests/s under `wrk -c20 -t2 -d{secs}s` (one worker), one 100-item "
                     f"`list_map_runs` per request vs one bare cosocket exchange per request",
                     f"{median(rps['sfn']):,.0f} vs {median(rps['floor']):,.0f} req/s (floor/sfn {ratio:.2f}×)",
                     "", None, "wall")
        finally:
            client.stop()
            self.data["ngx"] = data

    def cli_json(self):
        log("[6a] the CLI's JSON writer: C (sfn.core.json_object) vs the Lua one it replaced")
        rounds = 3 if self.q else 15
        out = {}
        for i in self.interps:
            env = lua_env(i, self.out)
            for page in (100, 1000):
                res = run_json([INTERPS[i][0], "bench/bench.lua", "cli-json", str(page), str(rounds)], env)
                ns = {r["writer"]: r["ns_per_run"] for r in res}
                out[f"{i}_{page}"] = ns
                self.row(f"CLI JSON writing, µs per Map Run ({page}-item page, {i}): Lua writer → C writer",
                         f"{ns['lua'] / 1e3:.1f} → {ns['c'] / 1e3:.2f} µs ({ns['lua'] / ns['c']:.0f}×)",
                         "≤ 2 µs", ns["c"] <= 2000, "wall")
        if shutil.which("valgrind"):
            for i in (self.interps if not self.q else self.interps[:1]):
                env = lua_env(i, self.out)
                n1, n2 = (1, 2) if self.q else (2, 12)
                ir = {w: ir_per_op(lambda n, w=w: [INTERPS[i][0], "bench/bench.lua", "cli-json-only", w, "100", str(n)],
                                   env, self.tmp, n1, n2) / 100 for w in ("lua", "c")}
                out[f"{i}_ir"] = ir
                self.row(f"CLI JSON writing, instructions per Map Run (100-item page, {i}): Lua writer → C writer",
                         f"{ir['lua'] / 1e3:.1f} k → {ir['c'] / 1e3:.1f} k Ir ({ir['lua'] / ir['c']:.0f}×)",
                         "—", None, "Ir")
        self.data["cli_json"] = out

    # callgrind ---------------------------------------------------------------
    def callgrind(self):
        log("[cg] callgrind instruction counts")
        if not shutil.which("valgrind"):
            self.row("callgrind figures", "skipped: no valgrind", "", None, "Ir")
            return
        q = self.q
        body = os.path.join(self.ng.data, "r1000.json")
        cg = {}
        for i in (self.interps if not q else self.interps[:1]):
            env = lua_env(i, self.out)
            lua = INTERPS[i][0]
            n1, n2 = (1, 2) if q else (2, 12)
            which = ("sfn", "cjson", "floor")
            d = {w: ir_per_op(lambda n, w=w: [lua, "bench/bench.lua", "decode-only", w, body, str(n)],
                              env, self.tmp, n1, n2) for w in which}
            cg[f"decode_{i}"] = d
            ratio = d["sfn"] / d["cjson"]
            self.row(f"decode, instructions: `core.decode_reply` vs lua-cjson vs the floor (same tables, "
                     f"no parsing), 1,000 items ({i})",
                     f"{ratio:.2f}× ({d['sfn'] / 1e6:.2f} M vs {d['cjson'] / 1e6:.2f} M Ir); floor "
                     f"{d['floor'] / d['cjson']:.2f}× ({d['floor'] / 1e6:.2f} M Ir)",
                     f"≤ {DECODE_TARGET}×", ratio <= DECODE_TARGET if not q else None, "Ir")
        if q:
            self.data["callgrind"] = cg
            return
        url = self.ng.url("/r100.json")
        raw = ir_per_op(lambda n: [os.path.join(self.out, "raw_loop"), url, str(n), "5"],
                        clean_env(), self.tmp, 20, 120)
        cg["raw_loop"] = raw
        for i in self.interps:
            lua = INTERPS[i][0]
            call = ir_per_op(lambda n: [lua, "bench/bench.lua", "call", url, str(n), "5"],
                             lua_env(i, self.out), self.tmp, 20, 120)
            cg[f"call_{i}"] = call
            floor = raw + cg[f"decode_{i}"]["floor"] / 10  # the 100-item page's tables
            is54 = i == "lua5.4"
            self.row(f"per call, client-side instructions: `list_map_runs` vs raw loop; floor = raw loop "
                     f"+ the 100-item page's tables made with no parsing ({i})",
                     f"{call / 1e3:.0f} k vs {raw / 1e3:.0f} k Ir ({call / raw:.2f}×); floor "
                     f"{floor / 1e3:.0f} k Ir", f"≤ {CALL_IR_TARGET / 1e3:.0f} k" if is54 else "",
                     call <= CALL_IR_TARGET if is54 else None, "Ir")
        sign = ir_per_op(lambda n: [os.path.join(self.out, "sign_loop"), str(n), "authorize"],
                         clean_env(), self.tmp, 1000, 3000)
        cg["sign_authorize"] = sign
        self.row("SigV4 signature, instructions (C `sfn_sigv4_authorize`, warm key cache)",
                 f"{sign / 1e3:.1f} k Ir", "", None, "Ir")
        for i in self.interps:
            env = lua_env(i, self.out)
            lua = INTERPS[i][0]
            bare = callgrind_ir([lua, "-e", ""], env, self.tmp)
            full = callgrind_ir([lua, "bench/startup.lua"], env, self.tmp)
            cg[f"startup_{i}"] = {"bare": bare, "with_sfn": full}
            self.row(f"start-up, instructions: `{lua} bench/startup.lua` minus `{lua} -e ''` ({i})",
                     f"{(full - bare) / 1e6:.1f} M Ir ({full / 1e6:.1f} M vs {bare / 1e6:.1f} M)", "",
                     None, "Ir")
        tool = os.path.join(ROOT, "bin", "sfn-map-runs")
        if os.path.exists(tool):
            url = self.ng.url("/r100-last.json")
            for i in self.interps[:1]:
                lua = INTERPS[i][0]
                env = lua_env(i, self.out)
                env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET})
                cmd = [lua, tool, ARN, "--region", "us-east-1", "--endpoint", url]
                full = callgrind_ir(cmd, env, self.tmp)
                one = callgrind_ir(cmd + ["--max-items", "1"], env, self.tmp)
                req = callgrind_ir([lua, "-e", "require 'sfn.cli'"], env, self.tmp)
                bare = callgrind_ir([lua, "-e", ""], env, self.tmp)
                cg[f"cli_{i}"] = {"100_runs": full, "1_run": one, "require_cli": req, "bare": bare}
                self.row(f"`sfn-map-runs`, instructions per invocation, 100 runs ({i})",
                         f"{full / 1e6:.1f} M Ir: loading (`require 'sfn.cli'`) {(req - bare) / 1e6:.1f} M, "
                         f"printing runs 2..100 {(full - one) / 1e6:.1f} M, the rest (config, first call) "
                         f"{(one - req) / 1e6:.1f} M", "", None, "Ir")
        self.data["callgrind"] = cg


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    def ver(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "load_1min_at_start": round(load, 2),
        "nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
        "curl": ver(["curl-config", "--version"]),
        "lua5.4": ver(["lua5.4", "-v"]), "luajit": ver(["luajit", "-v"]),
    }


def table(rows):
    out = ["| figure | measured | target | met | kind |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        met = "—" if r["met"] is None else ("met" if r["met"] else "**not met**")
        out.append(f"| {r['figure']} | {r['measured']} | {r['target']} | {met} | {r['kind']} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/bench", help="where the bench binaries are and results go")
    ap.add_argument("--quick", action="store_true", help="short run for CI: every bench once, no thresholds")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds per wall-clock comparison")
    ap.add_argument("--interps", default="lua5.4,luajit")
    ap.add_argument("--only", default="",
                    help="comma list of: transport,decode,heap,sign,memory,startup,boto3,cli,ngx,callgrind")
    ap.add_argument("--skip", default="", help="comma list of benches to skip")
    ap.add_argument("--python", default=os.environ.get("BENCH_BOTO3_PYTHON", "python3"),
                    help="python with boto3 for the peer bench")
    ap.add_argument("--aws", default=os.environ.get("BENCH_AWS"), help="the aws CLI to compare with")
    ap.add_argument("--keep", action="store_true", help="keep the temporary nginx prefix")
    args = ap.parse_args()
    args.out = os.path.abspath(os.path.join(ROOT, args.out))
    os.makedirs(args.out, exist_ok=True)

    order = ["transport", "decode", "heap", "sign", "memory", "startup", "boto3", "cli", "ngx", "callgrind"]
    only = [x for x in args.only.split(",") if x] or order
    skip = set(x for x in args.skip.split(",") if x)
    t_start = time.time()
    # SIGTERM unwinds like Ctrl-C, so the finally clauses stop every nginx.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = tempfile.mkdtemp(prefix="sfn-bench-")
    os.chmod(tmp, 0o755)
    ng = Nginx(tmp)
    info = machine()
    log(f"sfn bench ({'quick' if args.quick else 'full'}): {info['nproc']} CPU {info['cpu']}, "
        f"kernel {info['kernel']}, load {info['load_1min_at_start']}")
    try:
        ng.start()
        log(f"nginx on 127.0.0.1:{ng.port} (prefix {tmp}, ngx_lua: {ng.has_lua})")
        suite = Suite(args, tmp, ng)
        for name in order:
            if name in only and name not in skip:
                getattr(suite, name)()
    finally:
        ng.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    info["seconds"] = round(time.time() - t_start, 1)
    md = table(suite.rows)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": info, "quick": args.quick, "rows": suite.rows, "data": suite.data}, f, indent=1)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md + "\n")
    print()
    print(f"Machine: {info['nproc']} × {info['cpu']}, Linux {info['kernel']}, "
          f"1-min load {info['load_1min_at_start']} at start; {info['lua5.4']}; {info['luajit']}; "
          f"{info['nginx']}; {info['curl']}")
    print("wall = wall-clock medians of alternating rounds; Ir = callgrind instruction counts (noise-free)")
    print(md)
    print(f"\n({info['seconds']} s; results in {os.path.relpath(args.out, ROOT)}/results.json and results.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
