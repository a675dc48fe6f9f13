//! The batch-system recipes of docs/distributed.md, run here: each test takes the commands from the
//! page as written, runs its shards side by side with the variables the batch system would set
//! (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, GNU parallel's {}), runs the page's merge line, and
//! compares the merged JSON with an unsharded sweep, byte for byte. Only the seed range, the scenario
//! and (for Kubernetes) the volume's mount point are set by the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

const NETLAB: &str = env!("CARGO_BIN_EXE_netlab");
const SEEDS: &str = "1..60";

/// The fenced code block of docs/distributed.md whose info string is "LANG NAME".
fn block(name: &str) -> String {
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/distributed.md")).unwrap();
    let mut lines = page.lines();
    lines
        .by_ref()
        .find(|l| l.starts_with("```") && l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("docs/distributed.md has no block named {name}"));
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("```")).collect();
    body.join("\n") + "\n"
}

fn scenario() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sweep/flaky.toml").to_string_lossy().into_owned()
}

fn work_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netlab-distributed-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A shell command in `dir` with netlab on PATH and the sweep's variables set.
fn shell(program: &str, script: &str, dir: &Path) -> Command {
    let bin = Path::new(NETLAB).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut c = Command::new(program);
    c.arg("-c").arg(script).current_dir(dir).env("PATH", path).env("SCENARIO", scenario()).env("SEEDS", SEEDS);
    c
}

fn wait_all(children: Vec<Child>) {
    for mut c in children {
        let status = c.wait().unwrap();
        assert!(status.success(), "a shard failed: {status}");
    }
}

/// The unsharded sweep's JSON, for comparison.
fn unsharded() -> String {
    let o = Command::new(NETLAB).args(["sweep", &scenario(), "--seeds", SEEDS, "--json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "the test scenario fails some seeds");
    String::from_utf8(o.stdout).unwrap()
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_slurm_array_script_and_merge_line_work() {
    let dir = work_dir("slurm");
    let script = block("slurm");
    assert!(script.starts_with("#!/bin/bash\n#SBATCH --job-name="));
    let shards = 3;
    let children = (1..=shards)
        .map(|i| {
            shell("bash", &script, &dir)
                .env("SLURM_ARRAY_TASK_ID", i.to_string())
                .env("SLURM_ARRAY_TASK_COUNT", shards.to_string())
                .env("SLURM_CPUS_PER_TASK", "1")
                .spawn()
                .unwrap()
        })
        .collect();
    wait_all(children);
    let merge = shell("sh", &block("slurm-merge"), &dir).status().unwrap();
    assert_eq!(merge.code(), Some(1), "failed seeds make the merge exit 1");
    assert_eq!(read(dir.join("results/sweep.json")), unsharded());
    assert!(read(dir.join("results/sweep.xml")).starts_with("<?xml"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The lines of the YAML block scalar after "args:" / "- |" in the Job manifest.
fn job_command(manifest: &str) -> String {
    let lines: Vec<&str> = manifest.lines().collect();
    let start = lines.iter().position(|l| l.trim() == "- |").expect("args: - | in the manifest") + 1;
    let indent = lines[start].len() - lines[start].trim_start().len();
    let body: Vec<&str> = lines[start..]
        .iter()
        .take_while(|l| l.len() - l.trim_start().len() >= indent && !l.trim().is_empty())
        .map(|l| &l[indent..])
        .collect();
    body.join("\n") + "\n"
}

/// A value of the manifest, e.g. "completions: 16" -> "16"; an env value after "- name: SHARDS".
fn manifest_value(manifest: &str, key: &str) -> String {
    let mut it = manifest.lines().map(str::trim);
    if let Some(name) = key.strip_prefix("env:") {
        it.find(|l| *l == format!("- name: {name}")).unwrap();
        let v = it.next().unwrap().strip_prefix("value: ").unwrap();
        return v.trim_matches('"').to_string();
    }
    it.find_map(|l| l.strip_prefix(&format!("{key}: ")).map(String::from)).unwrap()
}

#[test]
fn the_kubernetes_indexed_job_command_and_merge_line_work() {
    let dir = work_dir("k8s");
    let manifest = block("kubernetes");
    assert_eq!(manifest_value(&manifest, "completionMode"), "Indexed");
    assert_eq!(manifest_value(&manifest, "completions"), manifest_value(&manifest, "env:SHARDS"));
    let results = dir.join("results");
    std::fs::create_dir_all(&results).unwrap();
    // The pods' shared volume is mounted at /results; here it is a directory of the test's.
    let command = job_command(&manifest).replace("/results", &results.to_string_lossy());
    let shards = 4;
    let children = (0..shards)
        .map(|i| {
            shell("sh", &command, &dir)
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env("SHARDS", shards.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    wait_all(children);
    let merge_line = block("kubernetes-merge").replace("/results", &results.to_string_lossy());
    assert_eq!(shell("sh", &merge_line, &dir).status().unwrap().code(), Some(1));
    assert_eq!(read(results.join("sweep.json")), unsharded());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether GNU parallel is installed; SKIPPED unless NETLAB_REQUIRE_PARALLEL is set.
fn gnu_parallel() -> bool {
    let ok = Command::new("parallel")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("GNU parallel"));
    if !ok {
        if std::env::var_os("NETLAB_REQUIRE_PARALLEL").is_some() {
            panic!("GNU parallel required (NETLAB_REQUIRE_PARALLEL) but not found");
        }
        eprintln!("SKIPPED: the GNU parallel recipe needs GNU parallel (apt-get install parallel)");
    }
    ok
}

#[test]
fn the_gnu_parallel_line_works() {
    if !gnu_parallel() {
        return;
    }
    let dir = work_dir("parallel");
    let lines = block("parallel");
    let o = shell("bash", &lines, &dir).output().unwrap();
    // The last line is the merge: exit 1, because some seeds fail.
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    for i in 1..=4 {
        assert!(dir.join(format!("shard-{i}.json")).is_file());
    }
    assert_eq!(read(dir.join("sweep.json")), unsharded());
    std::fs::remove_dir_all(&dir).unwrap();
}
