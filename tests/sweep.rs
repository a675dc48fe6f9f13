//! `netlab sweep` as CI and people use it: structured JSON per seed, statistics, shards that merge
//! into exactly the unsharded result, --fail-fast, a cap on printed failures, JUnit XML that an XML
//! parser accepts, errors as JSON. The scenario (tests/sweep/flaky.toml) fails for some seeds only.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NETLAB: &str = env!("CARGO_BIN_EXE_netlab");
const FLAKY: &str = "tests/sweep/flaky.toml";

fn netlab(args: &[&str]) -> Output {
    Command::new(NETLAB).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("netlab runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netlab-sweep-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, o: &Output) -> String {
    let p = dir.join(name);
    std::fs::write(&p, &o.stdout).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn two_shards_merged_equal_the_unsharded_sweep_byte_for_byte() {
    let dir = temp_dir("shards");
    let whole = netlab(&["sweep", FLAKY, "--seeds", "1..200", "--json", "--jobs", "2"]);
    assert_eq!(whole.status.code(), Some(1), "some seeds fail: {}", stdout(&whole));
    let s1 = netlab(&["sweep", FLAKY, "--seeds", "1..200", "--shard", "1/2", "--json", "--jobs", "1"]);
    let s2 = netlab(&["sweep", FLAKY, "--seeds", "1..200", "--shard", "2/2", "--json", "--jobs", "2"]);
    let v1 = json(&s1);
    assert_eq!(v1["shard"], serde_json::json!({"index": 1, "count": 2}));
    assert_eq!(v1["run"], 100);
    assert!(v1["results"].as_array().unwrap().iter().all(|r| r["seed"].as_u64().unwrap() % 2 == 1));
    // Given in the "wrong" order on purpose.
    let (f2, f1) = (write(&dir, "shard-2.json", &s2), write(&dir, "shard-1.json", &s1));
    let merged = netlab(&["sweep-merge", &f2, &f1, "--json"]);
    assert_eq!(merged.status.code(), Some(1));
    assert!(!whole.stdout.is_empty());
    assert_eq!(stdout(&merged), stdout(&whole), "merged shards differ from the unsharded sweep");
    // The text of a merge is the text of the sweep, without the wall time.
    let text = netlab(&["sweep-merge", &f1, &f2]);
    let total = stdout(&text).lines().last().unwrap_or_default().to_string();
    assert!(total.starts_with("flaky: 200 seeds (seeds 1..200), "), "{total}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_gives_each_failed_expectation_with_numbers_and_statistics() {
    let out = netlab(&["sweep", FLAKY, "--seeds", "1..40", "--json"]);
    let v = json(&out);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 40);
    let failed: Vec<&serde_json::Value> = results.iter().filter(|r| r["passed"] == false).collect();
    assert!(!failed.is_empty() && failed.len() < 40, "expected some seeds to fail, not all");
    assert_eq!(v["failed"], failed.len());
    for r in &failed {
        let f = &r["failures"][0];
        assert_eq!(f["line"], 34);
        assert_eq!(f["metric"], "retransmissions");
        assert_eq!(f["comparison"], "<=");
        assert_eq!(f["expected"], 2.0);
        let actual = f["actual"].as_f64().expect("actual is a number");
        assert!(actual > 2.0);
        assert_eq!(r["metrics"]["line:34"].as_f64(), Some(actual), "the metric is the expectation's value");
    }
    // Statistics over every seed's value, nearest rank.
    let mut values: Vec<f64> = results.iter().map(|r| r["metrics"]["line:34"].as_f64().unwrap()).collect();
    values.sort_by(f64::total_cmp);
    let stat = v["stats"].as_array().unwrap().iter().find(|s| s["name"] == "line:34").unwrap().clone();
    assert_eq!(stat["min"].as_f64(), Some(values[0]));
    assert_eq!(stat["median"].as_f64(), Some(values[19]));
    assert_eq!(stat["p95"].as_f64(), Some(values[37]));
    assert_eq!(stat["max"].as_f64(), Some(values[39]));
    assert_eq!(v["stats"][0]["name"], "events");
}

#[test]
fn chosen_metrics_replace_the_default_ones() {
    let out = netlab(&["sweep", FLAKY, "--seeds", "1..5", "--json", "--stat", "app:transfer:bytes_received"]);
    let v = json(&out);
    let names: Vec<&str> = v["stats"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["app:transfer:bytes_received"]);
    assert_eq!(v["stats"][0]["min"], 20000.0);
    assert_eq!(v["stats"][0]["max"], 20000.0);
}

#[test]
fn fail_fast_stops_at_the_first_failing_seed_whatever_the_threads() {
    let one = netlab(&["sweep", FLAKY, "--seeds", "8..200", "--fail-fast", "--json", "--jobs", "1"]);
    let two = netlab(&["sweep", FLAKY, "--seeds", "8..200", "--fail-fast", "--json", "--jobs", "2"]);
    assert_eq!(stdout(&one), stdout(&two));
    let v = json(&one);
    let first = v["failed_seeds"][0].as_u64().unwrap();
    assert_eq!(v["failed_seeds"].as_array().unwrap().len(), 1);
    assert!(first > 8, "the range starts with passing seeds");
    assert_eq!(v["complete"], false);
    let seeds: Vec<u64> = v["results"].as_array().unwrap().iter().map(|r| r["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, (8..=first).collect::<Vec<_>>());
    // Shards with --fail-fast merge into the same.
    let dir = temp_dir("failfast");
    let files: Vec<String> = (1..=3)
        .map(|i| {
            let shard = format!("{i}/3");
            let o = netlab(&["sweep", FLAKY, "--seeds", "8..200", "--fail-fast", "--json", "--shard", &shard]);
            write(&dir, &format!("s{i}.json"), &o)
        })
        .collect();
    let mut args = vec!["sweep-merge", "--json"];
    args.extend(files.iter().map(String::as_str));
    assert_eq!(stdout(&netlab(&args)), stdout(&one));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn printed_failures_are_capped() {
    let out = netlab(&["sweep", FLAKY, "--seeds", "1..100", "--show-failures", "3"]);
    let text = stdout(&out);
    assert_eq!(text.lines().filter(|l| l.contains(" FAILED (reproduce: netlab run ")).count(), 3, "{text}");
    let more = text.lines().find(|l| l.starts_with("... and ")).expect("a line for the rest");
    let v = json(&netlab(&["sweep", FLAKY, "--seeds", "1..100", "--json"]));
    let failed = v["failed"].as_u64().unwrap();
    assert!(more.starts_with(&format!("... and {} more failed seeds", failed - 3)), "{more}");
    assert!(text.contains("line 34: few retransmissions <here> & \"there\": retransmissions = "), "{text}");
}

#[test]
fn errors_are_json_objects_under_json() {
    let cases: [&[&str]; 5] = [
        &["sweep", "no/such/file.toml", "--json"],
        &["sweep", FLAKY, "--json", "--shard", "3/2"],
        &["sweep", FLAKY, "--json", "--stat", "line:1"],
        &["sweep-merge", "--json", "no/such/shard.json"],
        &["sweep-merge", "--json", "Cargo.toml"],
    ];
    for args in cases {
        let o = netlab(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let v = json(&o);
        assert_eq!(v["error"]["exit_code"], 2, "{args:?}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
}

#[test]
fn shards_that_do_not_fit_together_are_refused() {
    let dir = temp_dir("misfit");
    let shard = |seeds: &str, shard: &str| {
        let o = netlab(&["sweep", FLAKY, "--seeds", seeds, "--shard", shard, "--json"]);
        write(&dir, &format!("{}-{}.json", seeds.replace("..", "_"), shard.replace('/', "of")), &o)
    };
    let (a1, a2, b2) = (shard("1..10", "1/2"), shard("1..10", "2/2"), shard("1..12", "2/2"));
    let whole = write(&dir, "whole.json", &netlab(&["sweep", FLAKY, "--seeds", "1..10", "--json"]));
    for (files, says) in [
        (vec![&a1], "shards missing: 2/2"),
        (vec![&a1, &a1, &a2], "again"),
        (vec![&a1, &b2], "the seed range"),
        (vec![&a1, &whole], "not a shard"),
    ] {
        let mut args = vec!["sweep-merge"];
        args.extend(files.iter().map(|s| s.as_str()));
        let o = netlab(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{files:?}");
        assert!(err.contains(says), "{files:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether python3 is here to parse XML; SKIPPED unless NETLAB_REQUIRE_PYTHON is set.
fn python3() -> bool {
    let ok = Command::new("python3")
        .arg("-c")
        .arg("import xml.etree.ElementTree")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("NETLAB_REQUIRE_PYTHON").is_some() {
            panic!("python3 required (NETLAB_REQUIRE_PYTHON) but not found");
        }
        eprintln!("SKIPPED: the JUnit check parses the XML with python3's xml.etree, and python3 is missing");
    }
    ok
}

/// Parses JUnit XML with a real XML parser and checks it against the rules of the JUnit schema
/// that Jenkins' xUnit plugin uses (junit-10.xsd: which elements may hold which, required and
/// allowed attributes, text only where allowed), then its meaning: counts that add up, one test
/// case per seed, a failure with a message for each failed seed.
const CHECK_JUNIT: &str = r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
# element: (children allowed, attributes required, attributes allowed, text allowed)
SCHEMA = {
    "testsuites": ({"testsuite"}, set(), {"name", "time", "tests", "failures", "errors"}, False),
    "testsuite": ({"testsuite", "properties", "testcase", "system-out", "system-err"},
                  {"name", "tests", "failures", "errors"},
                  {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp",
                   "hostname", "id", "package", "file", "log", "url"}, False),
    "testcase": ({"skipped", "error", "failure", "system-out", "system-err"}, {"name"},
                 {"name", "time", "classname", "group"}, False),
    "failure": (set(), set(), {"type", "message"}, True),
    "error": (set(), set(), {"type", "message"}, True),
}
def check(e):
    assert e.tag in SCHEMA, e.tag
    children, required, allowed, text = SCHEMA[e.tag]
    assert required <= set(e.attrib), (e.tag, e.attrib)
    assert set(e.attrib) <= allowed, (e.tag, e.attrib)
    assert text or not (e.text or "").strip(), (e.tag, e.text)
    for c in e:
        assert c.tag in children, (e.tag, c.tag)
        assert not (c.tail or "").strip(), (e.tag, c.tail)
        check(c)
check(root)
for e in root.iter():
    for k in ("tests", "failures", "errors", "skipped"):
        if k in e.attrib:
            assert e.get(k).isdigit(), (e.tag, k, e.get(k))
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert len(suites) == 1
s = suites[0]
cases = s.findall("testcase")
assert int(s.get("tests")) == len(cases) == int(root.get("tests"))
failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
assert int(s.get("failures")) + int(s.get("errors")) == len(failed)
for c in cases:
    assert c.get("classname") and c.get("name", "").startswith("seed ")
for c in failed:
    f = c.find("failure")
    assert f.get("message") and f.text and "reproduce: netlab run" in f.text
    assert '<here> & "there"' in f.text, f.text
print(len(cases), len(failed))
"#;

#[test]
fn junit_xml_is_well_formed_and_counts_every_seed() {
    if !python3() {
        return;
    }
    let dir = temp_dir("junit");
    let xml = dir.join("sweep.xml");
    let o = netlab(&["sweep", FLAKY, "--seeds", "1..30", "--json", "--junit", xml.to_str().unwrap()]);
    let v = json(&o);
    let check = Command::new("python3").arg("-c").arg(CHECK_JUNIT).arg(&xml).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), format!("30 {}", v["failed"]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_json_gives_actual_values_as_numbers() {
    let dir = temp_dir("runjson");
    let o = netlab(&["run", FLAKY, "--seed", "1", "--json", "--no-capture", "--out", dir.to_str().unwrap()]);
    let v = json(&o);
    let e = &v["report"]["expectations"][1];
    assert_eq!(e["metric"], "retransmissions");
    assert!(e["actual"].is_f64(), "{e}");
    assert!(e["detail"].as_str().unwrap().starts_with("retransmissions = "));
    std::fs::remove_dir_all(&dir).unwrap();
}
