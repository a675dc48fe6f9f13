//! `netlab-tui <scenario.toml | run-dir | trace.jsonl> [--seed N]`: the terminal viewer.
//!
//! Everything is loaded (and a scenario run) before the terminal is touched, so a bad input gives a
//! plain error message and exit code 2, never a garbled terminal. `ratatui::init` installs a panic
//! hook that restores the terminal; Ctrl-C arrives as a key in raw mode and quits like `q`.

use netlab_tui::{App, Key, Timeline};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: netlab-tui <scenario.toml | run-dir | trace.jsonl> [--seed N]";

fn main() -> ExitCode {
    let mut path: Option<PathBuf> = None;
    let mut seed: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!(
                    "{USAGE}\n\nWatch a netlab run: each connection's states, window, timers and segments.\nPress ? in the viewer for the keys."
                );
                return ExitCode::SUCCESS;
            }
            "--seed" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = Some(s),
                None => {
                    eprintln!("error: --seed needs a number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            _ if path.is_none() => path = Some(PathBuf::from(a)),
            other => {
                eprintln!("error: unexpected argument \"{other}\"\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(path) = path else {
        eprintln!("error: nothing to view\n{USAGE}");
        return ExitCode::from(2);
    };
    let timeline = match Timeline::load(&path, seed) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut app = App::new(timeline);
    let mut terminal = ratatui::init();
    let result = run(&mut terminal, &mut app);
    ratatui::restore();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> std::io::Result<()> {
    let mut last = Instant::now();
    while !app.quit {
        terminal.draw(|f| netlab_tui::ui::draw(f, app))?;
        let timeout = if app.playing { Duration::from_millis(40) } else { Duration::from_millis(500) };
        if event::poll(timeout)?
            && let Event::Key(k) = event::read()?
            && k.kind != KeyEventKind::Release
        {
            let key = match k.code {
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Some(Key::CtrlC),
                KeyCode::Char(c) => Some(Key::Char(c)),
                KeyCode::Enter => Some(Key::Enter),
                KeyCode::Esc => Some(Key::Esc),
                KeyCode::Backspace => Some(Key::Backspace),
                KeyCode::Left => Some(Key::Left),
                KeyCode::Right => Some(Key::Right),
                KeyCode::Up => Some(Key::Up),
                KeyCode::Down => Some(Key::Down),
                KeyCode::Tab => Some(Key::Tab),
                KeyCode::BackTab => Some(Key::BackTab),
                KeyCode::Home => Some(Key::Home),
                KeyCode::End => Some(Key::End),
                _ => None,
            };
            if let Some(key) = key {
                app.handle(key);
            }
        }
        let now = Instant::now();
        app.tick((now - last).as_secs_f64());
        last = now;
    }
    Ok(())
}
