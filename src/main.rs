use clap::Parser;

fn main() {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`ppdl summarize DIR | head`) would panic;
    // the default action ends the program quietly, as every other command-line tool does.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Denormals flushed to zero before any other thread starts: threads inherit the setting, so no
    // figure depends on which thread computed it (training flushes them anyway, for speed).
    dfdx::flush_denormals_to_zero();
    let cli = match ppdl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if let Err(err) = ppdl::cli::dispatch(cli) {
        let code = ppdl::error::exit_code(&err);
        if code == 130 {
            eprintln!("ppdl: {err}");
        } else {
            eprintln!("ppdl: error: {err:#}");
        }
        std::process::exit(code);
    }
}
