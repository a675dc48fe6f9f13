//! `netlab sweep-merge`: the shards of one sweep combined into the result the unsharded sweep gives.
//! Shards must come from the same sweep (scenario, file, seed range, metrics, netlab version, shard
//! count) and be there exactly once each; anything else is refused with a message that says what
//! differs.

use super::result::{SweepHeader, SweepResult};

/// Merges the results of every shard of a sweep (any order).
pub fn merge(parts: &[(String, SweepResult)]) -> Result<SweepResult, String> {
    let Some((first_name, first)) = parts.first() else {
        return Err("expected at least one shard result to merge".into());
    };
    let count = first.shard.map_or(1, |s| s.count);
    let mut seen = vec![None::<&str>; count as usize];
    for (name, part) in parts {
        let same = |what: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| -> Result<(), String> {
            let (a, b) = (a.to_string(), b.to_string());
            if a == b {
                Ok(())
            } else {
                Err(format!("{name}: {what} is {b}, but {first_name} has {a}: not shards of the same sweep"))
            }
        };
        same("the netlab version", &first.netlab, &part.netlab)?;
        same("the scenario", &first.scenario, &part.scenario)?;
        same("the scenario file", &first.file, &part.file)?;
        same("the seed range", &first.seeds, &part.seeds)?;
        same("--fail-fast", &first.fail_fast, &part.fail_fast)?;
        let names = |r: &SweepResult| r.stats.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ");
        same("the list of metrics", &names(first), &names(part))?;
        let shard = part.shard.ok_or_else(|| format!("{name}: a whole sweep, not a shard (it has no \"shard\")"))?;
        same("the shard count", &count, &shard.count)?;
        let slot = &mut seen[(shard.index - 1) as usize];
        if let Some(other) = slot {
            return Err(format!("{name}: shard {}/{count} again (also in {other})", shard.index));
        }
        *slot = Some(name);
        if let Some(r) = part.results.iter().find(|r| !shard.holds(part.seeds, r.seed) || r.seed > part.seeds.last) {
            return Err(format!("{name}: seed {} does not belong to shard {}/{count}", r.seed, shard.index));
        }
    }
    let missing: Vec<String> =
        seen.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(i, _)| format!("{}/{count}", i + 1)).collect();
    if !missing.is_empty() {
        return Err(format!("shards missing: {}", missing.join(", ")));
    }
    let fail_fast = first.fail_fast;
    let mut results: Vec<_> = parts.iter().flat_map(|(_, p)| p.results.iter().cloned()).collect();
    if fail_fast {
        // As an unsharded --fail-fast sweep: every seed up to the first failing one, no other. Each
        // shard ran all its seeds up to its own first failure, which comes no earlier.
        if let Some(stop) = results.iter().filter(|r| !r.passed).map(|r| r.seed).min() {
            results.retain(|r| r.seed <= stop);
        }
    }
    let head = SweepHeader {
        scenario: first.scenario.clone(),
        file: first.file.clone(),
        seeds: first.seeds,
        shard: None,
        fail_fast,
        complete: results.len() as u64 == first.seeds.len(),
    };
    Ok(SweepResult::assemble(head, &first.metric_names(), results))
}
