//! `exec`: a program in a namespace host (`stack = "linux"`), started at the app's start time.

use super::{AppKind, AppRecipe};
use crate::app::exec::{ExecRequest, ExecSlot, exec};
use crate::scenario::AppDef;
use crate::scenario::error::at;
use crate::scenario::schema::CommandSpec;
use crate::world::World;
use std::sync::Arc;

pub(super) const EXEC: AppKind = AppKind {
    name: crate::scenario::validate::netns::EXEC_KIND,
    fields: &["command", "cwd", "env", "stdin", "daemon"],
    default_port: Some(0),
    metrics: &["exit_code"],
    parse: |a, _env| {
        let Some(c) = &a.command else {
            return at(
                a.kind.span(),
                "expected `command` (a list like [\"python3\", \"-c\", \"...\"] or a shell line)",
            );
        };
        let argv = match c.get_ref() {
            CommandSpec::Shell(line) if !line.trim().is_empty() => vec!["sh".into(), "-c".into(), line.clone()],
            CommandSpec::Argv(v) if v.first().is_some_and(|p| !p.is_empty()) => v.clone(),
            _ => return at(c.span(), "expected a command that names a program"),
        };
        let env = a.env.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
        let request = ExecRequest { argv, cwd: a.cwd.clone(), env, stdin: a.stdin.clone() };
        Ok(Arc::new(Exec { request, daemon: a.daemon.unwrap_or(false), slot: ExecSlot::default() }))
    },
};

#[derive(Debug)]
struct Exec {
    request: ExecRequest,
    daemon: bool,
    slot: ExecSlot,
}

impl AppRecipe for Exec {
    fn kind(&self) -> &'static str {
        EXEC.name
    }
    fn daemon(&self) -> bool {
        self.daemon
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        // A scenario may be run more than once: each run starts from a fresh slot state.
        self.slot.set(crate::app::exec::ExecState::Waiting);
        let slot = self.slot.clone();
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| exec(h, slot));
    }
    fn exec(&self) -> Option<(&ExecRequest, &ExecSlot)> {
        Some((&self.request, &self.slot))
    }
}
