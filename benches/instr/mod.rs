//! A small instruction-count harness over valgrind's callgrind, shared by
//! every `benches/instr_*.rs` suite. Include it with `mod instr;`.
//!
//! # How a suite runs
//!
//! `cargo bench --bench instr_evaluate` starts the bench binary natively. It
//! re-runs itself under
//! `valgrind --tool=callgrind --instr-atstart=no` and waits. In that child
//! the suite's setup (compiling a 10,000-rule policy, normalizing leads)
//! runs with callgrind's instrumentation *off*, at a few times native speed
//! instead of the ~50× of a simulated run. For each benchmark the child
//! runs the measured closure once uninstrumented (warm-up: lazy statics,
//! first allocations), then turns instrumentation on, zeroes the counters,
//! runs the closure [`ITERATIONS`] times, and asks callgrind to dump its
//! counters under the benchmark's name (callgrind *client requests*: magic
//! no-op instruction sequences that valgrind intercepts; natively they do
//! nothing). It also counts heap allocations in the same loop with a
//! counting global allocator. The parent reads the dumps, divides by the
//! number of operations and prints instructions per operation, the ratio to
//! the hand-written seed baseline measured in the same run (every suite
//! measures it first, as `baseline/seed_hand_written`), and allocations per
//! operation.
//!
//! # The gate
//!
//! Each suite has a committed expectations file,
//! `benches/instr/<suite>.expected`. A benchmark fails the run when
//!
//! - it has no expectation (a new benchmark must be recorded), or
//! - it allocates more per operation than recorded, or
//! - it costs more than [`TOLERANCE`] (10 %) above its recorded
//!   instructions per operation **and** more than 10 % above its recorded
//!   ratio to the baseline.
//!
//! Requiring both makes the gate robust to a compiler upgrade that speeds up
//! or slows down everything (the absolute count moves, the ratio does not)
//! and to one that changes only the tiny baseline (the ratio moves, the
//! absolute count does not); a change in leadroute moves both. A benchmark
//! that got more than 10 % cheaper passes with a note to record it.
//!
//! Record the current figures (after a deliberate change) with
//!
//! ```text
//! LEADROUTE_INSTR_UPDATE=1 cargo bench --bench 'instr_*'
//! ```
//!
//! # When it cannot measure
//!
//! Without `valgrind` on `PATH`, or on a target other than x86_64 Linux (the
//! client-request sequence is written for x86_64 only), the binary prints a
//! loud `SKIPPED` line and exits 0, or 1 when `LEADROUTE_REQUIRE_SERVICES=1`.
//! Under `cargo test --benches` (the `--bench` flag absent) every closure
//! runs once natively, as a smoke test, and nothing is measured.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};

#[path = "../support/seed_baseline.rs"]
pub mod seed_baseline;

/// Times the measured closure runs inside the counted window.
pub const ITERATIONS: u64 = 64;

/// Allowed growth, as a fraction, before a benchmark fails.
pub const TOLERANCE: f64 = 0.10;

/// The benchmark every ratio is taken against.
pub const BASELINE: &str = "baseline/seed_hand_written";

const CHILD_ENV: &str = "LEADROUTE_INSTR_CHILD";
const UPDATE_ENV: &str = "LEADROUTE_INSTR_UPDATE";
const REQUIRE_ENV: &str = "LEADROUTE_REQUIRE_SERVICES";

// ---------------------------------------------------------------------------
// Allocation counting.

/// Forwards to `System`, counting every `alloc`, `alloc_zeroed` and
/// `realloc` (one relaxed atomic add each: a few instructions inside the
/// measured window, the same in every run).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counter is an
// atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------
// Callgrind client requests.

mod request {
    /// `VG_USERREQ__RUNNING_ON_VALGRIND` (valgrind.h).
    pub const RUNNING_ON_VALGRIND: usize = 0x1001;
    /// `VG_USERREQ_TOOL_BASE('C', 'T')`, the first callgrind request.
    const CALLGRIND: usize = ((b'C' as usize) << 24) | ((b'T' as usize) << 16);
    /// The order of callgrind.h's request enum.
    pub const ZERO_STATS: usize = CALLGRIND + 1;
    pub const DUMP_STATS_AT: usize = CALLGRIND + 3;
    pub const START_INSTRUMENTATION: usize = CALLGRIND + 4;
    pub const STOP_INSTRUMENTATION: usize = CALLGRIND + 5;

    /// Whether this target has the client-request sequence below.
    pub const SUPPORTED: bool = cfg!(all(target_arch = "x86_64", target_os = "linux"));

    /// Issues a client request: valgrind recognizes the four rotations of
    /// `rdi` (by 128 bits in all: natively a no-op) followed by
    /// `xchg rbx, rbx`, reads the request and its arguments from the array
    /// `rax` points to, and returns the answer in `rdx`. Outside valgrind
    /// `rdx` keeps `default`.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    pub fn call(default: usize, request: usize, arg1: usize) -> usize {
        let args: [usize; 6] = [request, arg1, 0, 0, 0, 0];
        let result: usize;
        // SAFETY: the sequence leaves every register as it found it except
        // `rdx` (declared) and the flags (not declared preserved); valgrind
        // only reads `args`, which lives until the asm block ends.
        unsafe {
            std::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                inout("rdx") default => result,
                in("rax") args.as_ptr(),
                options(nostack),
            );
        }
        result
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    pub fn call(default: usize, _request: usize, _arg1: usize) -> usize {
        default
    }
}

fn running_on_valgrind() -> bool {
    request::call(0, request::RUNNING_ON_VALGRIND, 0) > 0
}

// ---------------------------------------------------------------------------
// The suite.

/// One measured benchmark, as the child reports it to the parent.
struct Measured {
    name: String,
    ops: u64,
    allocations: u64,
}

/// Registers and (in the valgrind child) measures benchmarks.
pub struct Suite {
    mode: Mode,
    filters: Vec<String>,
    measured: Vec<Measured>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Under callgrind: measure.
    Measure,
    /// `cargo test --benches`: run each closure once.
    Smoke,
}

impl Suite {
    /// Measures `f`, which performs `ops_per_call` operations per call
    /// (figures are per operation). `name` is `group/benchmark`; it must be
    /// unique in the suite and contain no whitespace.
    pub fn bench<R>(&mut self, name: &str, ops_per_call: u64, mut f: impl FnMut() -> R) {
        assert!(
            !name.is_empty() && !name.contains(char::is_whitespace),
            "benchmark name {name:?}"
        );
        assert!(ops_per_call > 0, "{name}: ops_per_call must be positive");
        assert!(
            self.measured.iter().all(|m| m.name != name),
            "benchmark {name} registered twice"
        );
        if name != BASELINE
            && !self.filters.is_empty()
            && !self.filters.iter().any(|f| name.contains(f.as_str()))
        {
            return;
        }
        // Warm-up, uninstrumented.
        std::hint::black_box(f());
        if self.mode == Mode::Smoke {
            return;
        }
        let label = std::ffi::CString::new(name).expect("no NUL in a benchmark name");
        request::call(0, request::START_INSTRUMENTATION, 0);
        request::call(0, request::ZERO_STATS, 0);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..ITERATIONS {
            std::hint::black_box(f());
        }
        let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
        request::call(0, request::DUMP_STATS_AT, label.as_ptr() as usize);
        request::call(0, request::STOP_INSTRUMENTATION, 0);
        self.measured.push(Measured {
            name: name.to_owned(),
            ops: ITERATIONS * ops_per_call,
            allocations,
        });
    }
}

/// The entry point of a suite: `instr::main("evaluate", |s| { ... })`.
/// `register` does the setup and calls [`Suite::bench`] for each benchmark;
/// it only runs in the valgrind child (or once, natively, as a smoke test
/// without `--bench`).
pub fn main(suite: &str, register: impl FnOnce(&mut Suite)) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .cloned()
        .collect();
    if std::env::var_os(CHILD_ENV).is_some() {
        return child(suite, filters, register);
    }
    if !args.iter().any(|a| a == "--bench") {
        let mut s = Suite {
            mode: Mode::Smoke,
            filters,
            measured: Vec::new(),
        };
        register_all(&mut s, register);
        println!(
            "instr_{suite}: smoke run (no --bench): every benchmark ran once, nothing measured"
        );
        return ExitCode::SUCCESS;
    }
    match parent(suite, &args) {
        Ok(code) => code,
        Err(Skip(why)) => skip(suite, &why),
    }
}

struct Skip(String);

fn skip(suite: &str, why: &str) -> ExitCode {
    let required = std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1");
    eprintln!();
    eprintln!("**********************************************************************");
    eprintln!("SKIPPED: instr_{suite}: {why}");
    if required {
        eprintln!("FAILED: {REQUIRE_ENV}=1 requires the instruction-count benches to run");
    }
    eprintln!("**********************************************************************");
    if required {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn register_all(s: &mut Suite, register: impl FnOnce(&mut Suite)) {
    // The baseline first: every ratio is against it.
    let normalizer = leadroute::Normalizer::default();
    let leads = seed_baseline::seed_leads(&normalizer);
    let baseline = seed_baseline::SeedBaseline::new();
    s.bench(BASELINE, leads.len() as u64, || {
        for l in &leads {
            std::hint::black_box(baseline.route(
                std::hint::black_box(&l.lead),
                std::hint::black_box(l.account.as_ref()),
            ));
        }
    });
    register(s);
}

fn child(suite: &str, filters: Vec<String>, register: impl FnOnce(&mut Suite)) -> ExitCode {
    if !running_on_valgrind() {
        eprintln!("instr_{suite}: {CHILD_ENV} is set but this process is not under valgrind");
        return ExitCode::FAILURE;
    }
    let mut s = Suite {
        mode: Mode::Measure,
        filters,
        measured: Vec::new(),
    };
    register_all(&mut s, register);
    let mut out = String::new();
    for m in &s.measured {
        let _ = writeln!(out, "{}\t{}\t{}", m.name, m.ops, m.allocations);
    }
    let path = std::env::var_os(CHILD_ENV)
        .map(PathBuf::from)
        .expect("checked");
    std::fs::write(&path, out).expect("write the child's results");
    ExitCode::SUCCESS
}

fn parent(suite: &str, args: &[String]) -> Result<ExitCode, Skip> {
    if !request::SUPPORTED {
        return Err(Skip(
            "callgrind client requests are implemented for x86_64 Linux only".into(),
        ));
    }
    match Command::new("valgrind").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => {
            return Err(Skip(
                "valgrind is not on PATH (install it: apt-get install valgrind)".into(),
            ));
        }
    }
    let exe = std::env::current_exe().expect("the bench binary's path");
    // `target/<profile>/deps/instr_x-HASH` → `target/<profile>/instr/<suite>/`:
    // the callgrind profiles stay there for `callgrind_annotate`.
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("instr").join(suite))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("leadroute-instr-{suite}")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the profile directory");
    let results = dir.join("results.tsv");
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--instr-atstart=no")
        .arg("--compress-strings=no")
        .arg(format!(
            "--callgrind-out-file={}",
            dir.join("callgrind.out").display()
        ))
        .arg("--quiet")
        .arg(&exe)
        .args(args)
        .env(CHILD_ENV, &results)
        .status()
        .expect("run valgrind");
    if !status.success() {
        eprintln!("instr_{suite}: the measuring run under valgrind failed: {status}");
        return Ok(ExitCode::FAILURE);
    }
    let instructions = read_dumps(&dir);
    let reported = std::fs::read_to_string(&results).expect("the child's results");
    let mut rows = Vec::new();
    for line in reported.lines() {
        let mut cols = line.split('\t');
        let (Some(name), Some(ops), Some(allocs)) = (cols.next(), cols.next(), cols.next()) else {
            panic!("malformed result line {line:?}");
        };
        let ops: u64 = ops.parse().expect("ops");
        let allocs: u64 = allocs.parse().expect("allocations");
        let Some(&ir) = instructions.get(name) else {
            panic!("no callgrind dump for {name} in {}", dir.display());
        };
        rows.push(Row {
            name: name.to_owned(),
            instr: ir as f64 / ops as f64,
            allocs: allocs as f64 / ops as f64,
            ratio: 0.0,
        });
    }
    let base = rows
        .iter()
        .find(|r| r.name == BASELINE)
        .map(|r| r.instr)
        .expect("the baseline is always measured");
    for r in &mut rows {
        r.ratio = r.instr / base;
    }
    let expected_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/instr")
        .join(format!("{suite}.expected"));
    let filtered = args.iter().any(|a| !a.starts_with('-'));
    if std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1") {
        if filtered {
            eprintln!(
                "instr_{suite}: {UPDATE_ENV}=1 records every benchmark; run it without a filter"
            );
            return Ok(ExitCode::FAILURE);
        }
        std::fs::write(&expected_path, render_expected(suite, &rows)).expect("write expectations");
        print_table(suite, &rows, &BTreeMap::new());
        println!(
            "instr_{suite}: recorded {} benchmarks in {}",
            rows.len(),
            expected_path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let expected = std::fs::read_to_string(&expected_path)
        .map(|t| parse_expected(&t, &expected_path))
        .unwrap_or_default();
    let failures = print_table(suite, &rows, &expected);
    println!("profiles: {}", dir.display());
    if failures.is_empty() {
        println!(
            "instr_{suite}: {} benchmarks within {:.0} % of {}",
            rows.len(),
            TOLERANCE * 100.0,
            expected_path.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &failures {
            eprintln!("REGRESSION: {f}");
        }
        eprintln!(
            "instr_{suite}: {} of {} benchmarks failed; if the change is deliberate, record it: \
             {UPDATE_ENV}=1 cargo bench --bench instr_{suite}",
            failures.len(),
            rows.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

struct Row {
    name: String,
    instr: f64,
    ratio: f64,
    allocs: f64,
}

#[derive(Clone, Copy)]
struct Expected {
    instr: f64,
    ratio: f64,
    allocs: f64,
}

/// Instructions (`Ir`) per dump, keyed by the name passed to
/// `DUMP_STATS_AT` (callgrind writes it as the dump's trigger).
fn read_dumps(dir: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("the profile directory") {
        let path = entry.expect("a directory entry").path();
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("callgrind.out"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a callgrind dump");
        let trigger = text
            .lines()
            .find_map(|l| l.strip_prefix("desc: Trigger: Client Request: "));
        let total = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("totals: ")
                    .or_else(|| l.strip_prefix("summary: "))
            })
            .and_then(|t| t.split_whitespace().next())
            .and_then(|t| t.parse::<u64>().ok());
        if let (Some(name), Some(total)) = (trigger, total) {
            out.insert(name.trim().to_owned(), total);
        }
    }
    out
}

fn render_expected(suite: &str, rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Instruction-count expectations of benches/instr_{suite}.rs (see benches/instr/mod.rs)."
    );
    let _ = writeln!(
        s,
        "# Record: LEADROUTE_INSTR_UPDATE=1 cargo bench --bench instr_{suite}"
    );
    let _ = writeln!(
        s,
        "# name  instructions/op  ratio-to-{BASELINE}  allocations/op"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{}\t{:.1}\t{:.3}\t{:.3}",
            r.name, r.instr, r.ratio, r.allocs
        );
    }
    s
}

fn parse_expected(text: &str, path: &Path) -> BTreeMap<String, Expected> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        let parsed = match cols.as_slice() {
            [name, instr, ratio, allocs] => instr
                .parse()
                .ok()
                .zip(ratio.parse().ok())
                .zip(allocs.parse().ok())
                .map(|((instr, ratio), allocs)| {
                    (
                        name.to_string(),
                        Expected {
                            instr,
                            ratio,
                            allocs,
                        },
                    )
                }),
            _ => None,
        };
        let Some((name, e)) = parsed else {
            panic!(
                "{}:{}: expected `name instructions ratio allocations`, got {line:?}",
                path.display(),
                i + 1
            );
        };
        out.insert(name, e);
    }
    out
}

/// Prints the table; returns the failures.
fn print_table(suite: &str, rows: &[Row], expected: &BTreeMap<String, Expected>) -> Vec<String> {
    let mut failures = Vec::new();
    println!();
    println!(
        "instr_{suite} (callgrind instructions per operation; ratio to {BASELINE} in this run)"
    );
    println!(
        "{:<44} {:>12} {:>9} {:>8}   vs expected",
        "benchmark", "instr/op", "ratio", "allocs"
    );
    for r in rows {
        let verdict = match expected.get(&r.name) {
            None if expected.is_empty() => "(not recorded)".to_owned(),
            None => {
                failures.push(format!("{}: no expectation recorded", r.name));
                "NOT RECORDED".to_owned()
            }
            Some(e) => {
                let d_instr = r.instr / e.instr - 1.0;
                let d_ratio = r.ratio / e.ratio - 1.0;
                let mut v = format!(
                    "{:+.1} % instr, {:+.1} % ratio",
                    d_instr * 100.0,
                    d_ratio * 100.0
                );
                if r.name != BASELINE && d_instr > TOLERANCE && d_ratio > TOLERANCE {
                    failures.push(format!(
                        "{}: {:.0} instructions/op (expected {:.0}, {:+.1} %), {:.2}× the baseline (expected {:.2}×, {:+.1} %)",
                        r.name, r.instr, e.instr, d_instr * 100.0, r.ratio, e.ratio, d_ratio * 100.0
                    ));
                    v.push_str("  REGRESSION");
                } else if r.name != BASELINE && d_instr < -TOLERANCE && d_ratio < -TOLERANCE {
                    v.push_str("  (cheaper: record it)");
                }
                // The file keeps three decimals: compare at that precision, or
                // a mean such as 11.5882 fails against its own record 11.588.
                if (r.allocs * 1000.0).round() / 1000.0 > e.allocs + 1e-9 {
                    failures.push(format!(
                        "{}: {:.3} allocations/op (expected at most {:.3})",
                        r.name, r.allocs, e.allocs
                    ));
                    v.push_str("  MORE ALLOCATIONS");
                }
                v
            }
        };
        println!(
            "{:<44} {:>12.1} {:>8.2}× {:>8.3}   {}",
            r.name, r.instr, r.ratio, r.allocs, verdict
        );
    }
    if expected.is_empty() {
        failures.push(format!(
            "no expectations for instr_{suite}: record them with {UPDATE_ENV}=1"
        ));
    }
    failures
}
