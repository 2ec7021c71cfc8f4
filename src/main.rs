//! The `patchform` binary: a doorway to `cli::run`.

fn main() -> std::process::ExitCode {
    patchform::cli::run(std::env::args_os())
}
