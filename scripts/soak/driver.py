#!/usr/bin/env python3
"""Soak test of the terminal explorer (run by scripts/soak.sh, which builds the binary).

Starts `gim explore` in a private tmux server and, for the given number of minutes, does what a
restless user would: random typing, pastes up to the prompt limit, knob storms (hundreds of key
presses a second), target/position changes, view and theme switches, exports, help, resizes.
A sampler thread reads the process's RSS and CPU time from /proc every second.

Passes when the explorer is alive until F10, exits 0, leaves the terminal as it found it
(`stty -a` before == after, normal screen, cursor visible), stays responsive (a help probe
answers within 10 s), and its RSS after warm-up grows less than the allowed percentage.
Prints a summary table and writes the per-second samples to a CSV file.
"""
import argparse
import csv
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CHECKPOINT_PROMPT = "The capital of France is"
KNOB_KEYS = list("ftTqQkKvVgGuUr01")
TARGET_KEYS = ["Left", "Right", "[", "]", "Home", "End", "Up", "Down", "Enter", "c", "a", "$"]
WORDS = ("the capital of France is Paris and London Berlin a an of to in is was were model token "
         "gradient attention softmax norm layer café naïve 日本語 文章 🌍 Ω ß über — quick brown fox "
         "jumps over lazy dog 1234 3.14 (x) [y] {z} \"q\" 'a' <tag> #hash @at").split()


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Tmux:
    def __init__(self, socket):
        self.base = ["tmux", "-L", socket, "-f", "/dev/null"]

    def __call__(self, *args, check=True, capture=False):
        r = subprocess.run(self.base + list(args), stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout if capture else r.returncode


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.tmp = tempfile.mkdtemp(prefix="gim-soak-")
        self.export_dir = os.path.join(self.tmp, "export")
        os.makedirs(self.export_dir)
        self.tm = Tmux(f"gim-soak-{os.getpid()}")
        self.session = "soak"
        self.keys_sent = 0
        self.storm_keys = 0
        self.storm_seconds = 0.0
        self.actions = {}
        self.attributions_seen = 0
        self.was_computing = False
        self.samples = []  # (t, rss_kib, cpu_percent, threads)
        self.sampler_stop = threading.Event()
        self.pid = None
        self.failures = []
        self.probe_latencies = []
        self.checkpoints = []  # (t, rss_kib, heap_in_use_bytes or None) in the reference state
        self.stderr = os.path.join(self.tmp, "stderr")
        self.gdb = shutil.which("gdb") is not None
        self.lock = threading.Lock()

    # --- tmux helpers ------------------------------------------------------------------------
    def send(self, *keys):
        self.tm("send-keys", "-t", self.session, *keys)
        self.keys_sent += len(keys)

    def send_text(self, text):
        self.tm("send-keys", "-t", self.session, "-l", text)
        self.keys_sent += len(text)

    def screen(self):
        return self.tm("capture-pane", "-p", "-t", self.session, capture=True, check=False) or ""

    def title(self):
        s = self.screen()
        return s.split("\n", 1)[0], s

    def watcher(self):
        """Counts finished attributions: the title bar going from "computing" to timings."""
        while not self.sampler_stop.is_set():
            first = self.title()[0]
            if "computing" in first:
                self.was_computing = True
            elif self.was_computing and re.search(r"GIM (?:[0-9.]+ ms|cached)", first):
                self.attributions_seen += 1
                self.was_computing = False
            time.sleep(0.1)

    def mode(self):
        first, s = self.title()
        m = re.search(r"GIM Explorer │ (EDIT|COMMAND|TOKEN) │", first)
        if "keys · any key closes" in s:
            return "HELP"
        return m.group(1) if m else None

    def ensure(self, wanted):
        """Brings the explorer into EDIT or COMMAND mode (closing help or token entry). Each key
        waits for the mode it changes to be drawn: on a loaded machine a redraw can lag a press,
        and pressing Tab again before it shows toggles back."""
        for _ in range(8):
            m = self.mode()
            if m == wanted:
                return True
            if m == "HELP":
                self.send("x")  # any key closes the help overlay
            elif m == "TOKEN":
                self.send("Escape")
            elif m in ("EDIT", "COMMAND"):
                self.send("Tab")
            else:  # too small to show the title, or not drawn yet
                self.tm("resize-window", "-t", self.session, "-x", "120", "-y", "32")
            end = time.time() + 3
            while time.time() < end and self.mode() == m:
                time.sleep(0.05)
        return self.mode() == wanted

    def view(self):
        """The view named in the status line (heat, difference or table), or None."""
        m = re.search(r"^view:? (heat|difference|table)\b", self.screen(), re.M)
        return m.group(1) if m else None

    def wait_for(self, pattern, seconds):
        end = time.time() + seconds
        while time.time() < end:
            if re.search(pattern, self.screen()):
                return True
            time.sleep(0.05)
        return False

    # --- the process -------------------------------------------------------------------------
    def start(self):
        a = self.args
        inner = (f"stty -a > {shlex.quote(self.tmp)}/stty-before; "
                 f"env TERM=tmux-256color XDG_CONFIG_HOME={shlex.quote(self.tmp)}/config {shlex.quote(a.gim)} explore "
                 f"--model {shlex.quote(a.model)} --export-dir {shlex.quote(self.export_dir)} 2> {shlex.quote(self.stderr)}; "
                 f"echo $? > {shlex.quote(self.tmp)}/status; stty -a > {shlex.quote(self.tmp)}/stty-after; "
                 f"echo \"exit=$(cat {shlex.quote(self.tmp)}/status)\"; sleep 100000")
        self.tm("new-session", "-d", "-s", self.session, "-x", "120", "-y", "32", "bash", "-c", inner)
        pane_pid = self.tm("display-message", "-p", "-t", self.session, "#{pane_pid}", capture=True).strip()
        binary = os.path.realpath(a.gim)
        for _ in range(200):  # the pane's child running the binary
            r = subprocess.run(["pgrep", "-P", pane_pid], stdout=subprocess.PIPE, text=True)
            for pid in r.stdout.split():
                try:
                    if os.path.realpath(f"/proc/{pid}/exe") == binary:
                        self.pid = int(pid)
                except OSError:
                    pass
            if self.pid:
                break
            time.sleep(0.05)
        if not self.pid:
            raise RuntimeError("the explorer did not start")
        log(f"explorer pid {self.pid}; temp dir {self.tmp}")
        if not self.wait_for(r"GIM Explorer │ EDIT │ [A-Za-z]", 120):
            raise RuntimeError("the model did not load within 120 s:\n" + self.screen())

    def alive(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().split(") ", 1)[1][0] not in "ZX"
        except OSError:
            return False

    def sampler(self):
        tick = os.sysconf("SC_CLK_TCK")
        t0 = time.time()
        last = None
        while not self.sampler_stop.is_set():
            try:
                with open(f"/proc/{self.pid}/stat") as f:
                    fields = f.read().split(") ", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / tick  # utime + stime (fields 14, 15)
                threads = int(fields[17])
                rss = 0
                with open(f"/proc/{self.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss = int(line.split()[1])
            except (OSError, IndexError, ValueError):
                break
            now = time.time()
            percent = 0.0 if last is None else 100 * (cpu - last[1]) / max(1e-6, now - last[0])
            last = (now, cpu)
            with self.lock:
                self.samples.append((now - t0, rss, percent, threads, self.keys_sent))
            self.sampler_stop.wait(1.0)

    # --- actions -----------------------------------------------------------------------------
    def random_text(self, n_words):
        return " ".join(self.rng.choice(WORDS) for _ in range(n_words))

    def typing(self):
        if not self.ensure("EDIT"):
            return
        for _ in range(self.rng.randint(3, 25)):
            r = self.rng.random()
            if r < 0.7:
                self.send_text(self.rng.choice(WORDS) + self.rng.choice([" ", " ", "", ", ", ". "]))
            elif r < 0.8:
                self.send(self.rng.choice(["BSpace", "BSpace", "C-w", "Left", "Right", "Home", "End", "DC"]))
            elif r < 0.85:
                self.send(self.rng.choice(["Up", "Down"]))  # history
            elif r < 0.9:
                self.send("Enter")
            elif r < 0.93:
                self.send("C-u")
            else:
                self.send(self.rng.choice(["M-t", "M-T", "M-f", "M-q", "M-V"]))  # Alt-key commands
            time.sleep(self.rng.uniform(0.01, 0.12))
        if self.rng.random() < 0.5:
            self.send("Enter")

    def paste(self, size=None):
        if not self.ensure("EDIT"):
            return
        limit = self.args.max_chars
        if size is None:
            size = self.rng.choice([self.rng.randint(20, 400), self.rng.randint(400, 3000),
                                    self.rng.randint(3000, limit), limit, limit + self.rng.randint(1, 500)])
        text = ""
        while len(text) < size:
            text += self.random_text(50) + self.rng.choice([" ", "\n", ". "])
        text = text[:size]
        path = os.path.join(self.tmp, "paste.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        if self.rng.random() < 0.7:
            self.send("C-u")
            self.send("C-k")
        self.tm("load-buffer", "-b", "soak", path)
        self.tm("paste-buffer", "-p", "-d", "-b", "soak", "-t", self.session)  # -p: bracketed
        self.keys_sent += 1
        self.actions["paste chars"] = self.actions.get("paste chars", 0) + len(text)
        if size > self.args.attribute_chars:
            # Pasted, shown and cut at the limit, but cleared before the debounce attributes it:
            # since the 1024-token cap went, a 32768-character prompt (~8000 tokens) takes minutes
            # to attribute on 2 cores (the next request interrupts it between layers, but the
            # soak would spend its time in forwards).
            time.sleep(0.1)
            self.send("C-u")
            self.send("C-k")
            self.actions["pastes cleared unattributed"] = self.actions.get("pastes cleared unattributed", 0) + 1
            return
        time.sleep(0.2)
        if self.rng.random() < 0.6:
            self.send("Enter")

    def knob_storm(self):
        if not self.ensure("COMMAND"):
            return
        start, keys = time.time(), self.keys_sent
        end = start + self.rng.uniform(0.5, 3.0)
        while time.time() < end:
            self.send(*[self.rng.choice(KNOB_KEYS) for _ in range(40)])
            time.sleep(0.08)  # ~40 keys per 0.1 s: several hundred a second
        self.storm_keys += self.keys_sent - keys
        self.storm_seconds += time.time() - start

    def target_moves(self):
        if not self.ensure("COMMAND"):
            return
        for _ in range(self.rng.randint(3, 30)):
            self.send(self.rng.choice(TARGET_KEYS))
            time.sleep(self.rng.uniform(0, 0.15))
        if self.rng.random() < 0.15:
            self.send(self.rng.choice(["/", "\\"]))  # type a target or foil token
            self.send_text(self.rng.choice([" Paris", " the", "#42", "#99999999", "zzz qq", ""]))
            self.send("Enter")

    def view_theme(self):
        if not self.ensure("COMMAND"):
            return
        for _ in range(self.rng.randint(1, 8)):
            self.send(self.rng.choice(["d", "s", "F2", "F3", "p", "PPage", "NPage", "C-l", "Space"]))
            time.sleep(self.rng.uniform(0, 0.2))

    def export(self):
        if not self.ensure("COMMAND"):
            return
        self.send(self.rng.choice(["e", "F6"]))
        time.sleep(0.2)

    def help(self):
        if not self.ensure("COMMAND"):
            return
        self.send(self.rng.choice(["?", "F1"]))
        time.sleep(self.rng.uniform(0.05, 0.6))
        self.send("x")

    def resize(self):
        w, h = self.rng.choice([(self.rng.randint(20, 220), self.rng.randint(6, 70)), (120, 32), (80, 24),
                                (60, 34), (30, 8), (200, 60)])
        self.tm("resize-window", "-t", self.session, "-x", str(w), "-y", str(h))
        time.sleep(self.rng.uniform(0.05, 0.5))
        if self.rng.random() < 0.6:
            self.tm("resize-window", "-t", self.session, "-x", "120", "-y", "32")

    def checkpoint(self, t0):
        """RSS in one reference state: the same short prompt attributed, faithfulness figures
        shown, nothing computing. While working, RSS follows the prompt being held (the kept
        activations of a 1024-token prompt are hundreds of MB), so growth is judged here."""
        if not self.ensure("EDIT"):
            self.failures.append("checkpoint: could not reach edit mode:\n" + self.screen())
            return
        self.send("C-u")
        self.send("C-k")
        self.send_text(CHECKPOINT_PROMPT)
        self.send("Enter")
        # The same question every time: most likely token, last position, no foil, default knobs,
        # heat view (where both panes show their faithfulness figures).
        if not self.ensure("COMMAND"):
            self.failures.append("checkpoint: could not reach command mode:\n" + self.screen())
            return
        self.send("a", "r", "End")
        time.sleep(0.3)
        if re.search(r"^explains .* − ", self.screen(), re.M):
            self.send("c")
        # d cycles heat → difference → table: press until the status line says heat, each press
        # waiting for the view it leads to (presses that outrun the redraw would overshoot).
        for _ in range(6):
            v = self.view()
            if v == "heat":
                break
            self.send("d")
            end = time.time() + 5
            while time.time() < end and self.view() == v:
                time.sleep(0.05)
        time.sleep(0.5)
        end = time.time() + 300  # a long prompt's attribution may still be running before it
        settled = False
        while time.time() < end:
            s = self.screen()
            first = s.split("\n", 1)[0]
            if ("computing" not in first and re.search(r"GIM (?:[0-9.]+ ms|cached)", first)
                    and re.search(r"┌ (?:▸ )?GIM[^┐]*(del [−0-9]|undefined)", s) and CHECKPOINT_PROMPT in s):
                settled = True
                break
            time.sleep(0.1)
        if not settled:
            self.failures.append("checkpoint: the reference prompt was not attributed within 300 s:\n" + self.screen())
            log("checkpoint FAILED: not attributed within 300 s")
            return
        time.sleep(1.0)
        with open(f"/proc/{self.pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        heap = self.heap_in_use()
        self.checkpoints.append((time.time() - t0, rss, heap))
        log(f"checkpoint at {time.time() - t0:.0f} s: RSS {rss / 1024:.1f} MiB"
            + (f", heap in use {heap / 2**20:.1f} MiB" if heap is not None else ""))

    def heap_in_use(self):
        """Bytes the allocator has handed out and not got back (glibc's malloc_stats, called
        through gdb; the explorer's stderr goes to a file). The explorer keeps freed memory
        (HeapSettings.keepFreedMemory), so its RSS is a high-water mark that a leak could hide
        under until the kept pages are used up; this figure shows a leak at once."""
        if not self.gdb:
            return None
        try:
            size = os.path.getsize(self.stderr)
            subprocess.run(["gdb", "-p", str(self.pid), "-batch", "-nx", "-ex", "call (void)malloc_stats()"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            with open(self.stderr, encoding="utf-8", errors="replace") as f:
                f.seek(size)
                text = f.read()
            m = re.search(r"Total \(incl. mmap\):\s*system bytes\s*=\s*\d+\s*in use bytes\s*=\s*(\d+)", text)
            return int(m.group(1)) if m else None
        except (OSError, subprocess.TimeoutExpired):
            return None

    def probe(self):
        """The UI thread answers: help opens within 10 s (whatever the worker is doing)."""
        if not self.ensure("COMMAND"):
            self.failures.append("probe: could not reach command mode:\n" + self.screen())
            return
        t = time.time()
        self.send("?")
        ok = self.wait_for("keys · any key closes", 10)
        self.probe_latencies.append(time.time() - t)
        if not ok:
            self.failures.append("probe: the help overlay did not open within 10 s (hang?):\n" + self.screen())
        self.send("x")

    # --- the run -----------------------------------------------------------------------------
    def run(self):
        a = self.args
        self.start()
        sampler = threading.Thread(target=self.sampler, daemon=True)
        sampler.start()
        threading.Thread(target=self.watcher, daemon=True).start()
        t0 = time.time()
        actions = [(self.typing, 20), (self.paste, 6), (self.knob_storm, 20), (self.target_moves, 14),
                   (self.view_theme, 10), (self.export, 3), (self.help, 4), (self.resize, 8)]
        funcs, weights = zip(*actions)
        # Warm-up: every action once, and the largest prompts early, so the heap reaches its
        # working size before the growth is measured.
        warmup = [self.typing, lambda: self.paste(400), lambda: self.paste(a.max_chars), lambda: self.paste(900),
                  self.knob_storm,
                  lambda: self.paste(3400), self.target_moves, self.view_theme,
                  self.export, self.help, self.resize, lambda: self.paste(1500), self.knob_storm]
        next_probe = t0 + 30
        next_checkpoint = t0 + a.warmup
        checkpoint_every = max(20.0, (a.minutes * 60 - a.warmup) / 8)
        i = 0
        while time.time() - t0 < a.minutes * 60:
            if not self.alive():
                self.failures.append(f"the explorer died after {time.time() - t0:.0f} s:\n" + self.screen())
                break
            f = warmup[i] if i < len(warmup) else self.rng.choices(funcs, weights)[0]
            i += 1
            name = f.__name__ if f.__name__ != "<lambda>" else "paste"
            self.actions[name] = self.actions.get(name, 0) + 1
            try:
                f()
            except RuntimeError as e:
                self.failures.append(f"{name}: {e}")
                break
            if time.time() > next_probe:
                self.probe()
                next_probe = time.time() + 30
            if time.time() > next_checkpoint:
                self.checkpoint(t0)
                next_checkpoint += checkpoint_every
            time.sleep(self.rng.uniform(0, 0.3))
            if i % 20 == 0:
                log(f"{time.time() - t0:5.0f} s  keys {self.keys_sent}  rss {self.samples[-1][1] / 1024:.0f} MiB"
                    if self.samples else "no samples")
        return self.finish(t0)

    def finish(self, t0):
        a = self.args
        if self.alive():
            self.checkpoint(t0)  # the last one
        if self.alive():
            # Quit as a user would: back to a normal size, close help or entry, F10.
            self.tm("resize-window", "-t", self.session, "-x", "120", "-y", "32")
            self.ensure("COMMAND")
            self.send("F10")
            if not self.wait_for(r"^exit=\d+", 15):
                self.failures.append("F10 did not end the explorer within 15 s:\n" + self.screen())
        self.sampler_stop.set()
        time.sleep(0.2)
        status = None
        try:
            status = int(open(os.path.join(self.tmp, "status")).read().strip())
        except (OSError, ValueError):
            pass
        if status != 0:
            self.failures.append(f"exit status {status} (0 expected)")
        # The terminal is restored: same stty settings (the size aside), normal screen, cursor on.
        try:
            def settings(name):
                text = open(os.path.join(self.tmp, name)).read()
                return re.sub(r"rows \d+; columns \d+;", "", text)
            if settings("stty-before") != settings("stty-after"):
                self.failures.append("stty -a differs after the explorer exited")
        except OSError:
            self.failures.append("no stty -a after exit")
        flags = self.tm("display-message", "-p", "-t", self.session, "#{alternate_on}#{cursor_flag}",
                        capture=True, check=False).strip()
        if flags != "01":
            self.failures.append(f"terminal not restored: alternate screen/cursor flags {flags!r} (01 expected)")
        if "GIM Explorer" in self.screen():
            self.failures.append("the explorer's screen is still showing after exit")
        self.tm("kill-server", check=False)
        return self.report(t0)

    def report(self, t0):
        a = self.args
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["seconds", "rss_kib", "cpu_percent", "threads", "keys_sent"])
            for s in self.samples:
                w.writerow([f"{s[0]:.1f}", s[1], f"{s[2]:.1f}", s[3], s[4]])
        warm = [s for s in self.samples if s[0] >= a.warmup and s[1] > 0]  # RSS 0: exiting
        print()
        print(f"soak: {time.time() - t0:.0f} s, seed {a.seed}, samples in {a.csv}")
        growth = None
        if len(warm) >= 20 and len(self.checkpoints) >= 2:
            rss = [s[1] / 1024 for s in warm]
            window = max(10, min(60, len(warm) // 4))
            first = statistics.median(rss[:window])
            last = statistics.median(rss[-window:])
            points = [c[1] / 1024 for c in self.checkpoints]
            growth = 100 * (points[-1] - points[0]) / points[0]
            cpu = [s[2] for s in warm]
            rows = [
                ("RSS after warm-up (MiB)", f"min {min(rss):.0f}  median {statistics.median(rss):.0f}  max {max(rss):.0f}"),
                ("RSS during warm-up (MiB)", f"max {max(s[1] for s in self.samples if s[0] < a.warmup) / 1024:.0f}"
                 if any(s[0] < a.warmup for s in self.samples) else "–"),
                (f"RSS first/last {window} s median", f"{first:.0f} → {last:.0f} MiB ({100 * (last - first) / first:+.1f} %, "
                 "follows the prompt held at the time)"),
                ("RSS at checkpoints (MiB)", "  ".join(f"{v:.1f}" for v in points)
                 + f"  (every {self.checkpoints[1][0] - self.checkpoints[0][0]:.0f} s from {self.checkpoints[0][0]:.0f} s)"),
                ("RSS growth after warm-up", f"{growth:+.2f} % first → last checkpoint (limit {a.max_growth:g} %)"),
            ]
            heaps = [c[2] / 2**20 for c in self.checkpoints if c[2] is not None]
            if len(heaps) == len(self.checkpoints):
                heap_growth = 100 * (heaps[-1] - heaps[0]) / heaps[0]
                rows += [
                    ("heap in use at checkpoints", "  ".join(f"{v:.1f}" for v in heaps) + " MiB (malloc_stats via gdb)"),
                    ("heap growth after warm-up", f"{heap_growth:+.2f} % first → last checkpoint (limit {a.max_growth:g} %)"),
                ]
                if heap_growth >= a.max_growth:
                    self.failures.append(f"heap in use grew {heap_growth:.2f} % after warm-up (limit {a.max_growth:g} %)")
            else:
                rows += [("heap in use", "not measured (needs gdb)")]
            rows += [
                ("CPU after warm-up (%)", f"mean {statistics.mean(cpu):.0f}  median {statistics.median(cpu):.0f}  max {max(cpu):.0f}"),
                ("threads", f"{min(s[3] for s in warm)}–{max(s[3] for s in warm)}"),
            ]
        else:
            rows = [("RSS", "too few samples after warm-up")]
            self.failures.append("too few samples or checkpoints after warm-up to judge RSS growth")
        rows += [
            ("keys sent", f"{self.keys_sent} ({self.keys_sent / max(1, time.time() - t0):.0f}/s on average)"),
            ("knob storms", f"{self.storm_keys} keys in {self.storm_seconds:.0f} s ({self.storm_keys / max(1e-9, self.storm_seconds):.0f} keys/s)"),
            ("actions", ", ".join(f"{k} {v}" for k, v in sorted(self.actions.items()))),
            ("attributions seen", f"{self.attributions_seen} (title went from computing to timings; a lower bound)"),
            ("exports written", str(len(os.listdir(self.export_dir)))),
            ("help probes", f"{len(self.probe_latencies)}, slowest {max(self.probe_latencies, default=0):.2f} s"),
        ]
        width = max(len(k) for k, _ in rows)
        for k, v in rows:
            print(f"  {k:<{width}}  {v}")
        if growth is not None and growth >= a.max_growth:
            self.failures.append(f"RSS grew {growth:.2f} % after warm-up (limit {a.max_growth:g} %)")
        try:
            err = open(self.stderr, encoding="utf-8", errors="replace").read()
            err = re.sub(r"Arena \d+:.*?max mmap bytes\s*=\s*\d+\n", "", err, flags=re.S).strip()  # malloc_stats
            if err:
                print("the explorer's stderr:\n" + err[-2000:])
        except OSError:
            pass
        for f in self.failures:
            print("FAIL " + f)
        print("PASS" if not self.failures else "FAILED")
        return 0 if not self.failures else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gim", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--warmup", type=float, default=120, help="seconds before RSS growth is measured")
    p.add_argument("--max-growth", type=float, default=5.0, help="allowed RSS growth after warm-up, %%")
    p.add_argument("--max-chars", type=int, default=32768, help="PromptEditor.maxCharacters")
    p.add_argument("--attribute-chars", type=int, default=3500,
                   help="pastes longer than this are cleared before they are attributed")
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--csv", default="soak.csv")
    a = p.parse_args()
    a.warmup = min(a.warmup, a.minutes * 60 / 3)
    soak = Soak(a)
    try:
        sys.exit(soak.run())
    finally:
        soak.tm("kill-server", check=False)


if __name__ == "__main__":
    main()
