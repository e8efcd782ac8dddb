//! A command's output: `out!`/`outln!` and `err!`/`errln!` write like `print!` and `eprint!`, but
//! a reader that stops early (`hromada spec export | head`) ends the output quietly instead of
//! panicking the process; any other failure to write standard output is said on standard error.

use std::io::Write;

pub fn stdout(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(std::io::stderr(), "error: cannot write the output: {e}");
    }
}

pub fn stderr(args: std::fmt::Arguments) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

macro_rules! out {
    ($($t:tt)*) => { $crate::output::stdout(format_args!($($t)*)) };
}

macro_rules! outln {
    ($($t:tt)*) => { $crate::output::stdout(format_args!("{}\n", format_args!($($t)*))) };
}

macro_rules! err {
    ($($t:tt)*) => { $crate::output::stderr(format_args!($($t)*)) };
}

macro_rules! errln {
    ($($t:tt)*) => { $crate::output::stderr(format_args!("{}\n", format_args!($($t)*))) };
}
