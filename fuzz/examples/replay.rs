//! Runs one fuzz target on files, outside libFuzzer (with the panic message and backtrace of a
//! failure): `cargo run --example replay -- TARGET FILE...`.
fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("TARGET FILE...");
    for f in args {
        let data = std::fs::read(&f).expect("readable");
        match target.as_str() {
            "wire" => netlab_fuzz::wire::check(&data),
            "tcp_segments" => netlab_fuzz::tcp_segments::check(&data),
            "scenario_text" => netlab_fuzz::scenario_text::check(&data),
            "world_frames" => netlab_fuzz::world_frames::check(&data),
            other => panic!("no target {other}"),
        }
        println!("{f}: ok");
    }
}
