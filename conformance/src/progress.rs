//! A hand-written progress bar on stderr: redrawn in place on a terminal, otherwise one
//! line every 10 %.

use std::io::Write;

const WIDTH: u64 = 30;

/// Progress over a known number of seeds.
#[derive(Debug)]
pub struct Progress {
    total: u64,
    tty: bool,
    last_decile: u64,
    drawn: bool,
}

impl Progress {
    /// A bar for `total` seeds; `tty` selects in-place redraws.
    pub fn new(total: u64, tty: bool) -> Progress {
        Progress {
            total: total.max(1),
            tty,
            last_decile: 0,
            drawn: false,
        }
    }

    /// `done` seeds finished, `violations` of them failed.
    pub fn update(&mut self, done: u64, violations: u64) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let filled = done * WIDTH / self.total;
            let bar: String = (0..WIDTH)
                .map(|i| if i < filled { '#' } else { '-' })
                .collect();
            let _ = write!(
                err,
                "\r[{bar}] {done}/{} {:>3}% violations={violations}",
                self.total,
                done * 100 / self.total
            );
            let _ = err.flush();
            self.drawn = true;
        } else {
            let decile = done * 10 / self.total;
            if decile > self.last_decile {
                self.last_decile = decile;
                let _ = writeln!(
                    err,
                    "sim: {}% ({done}/{} seeds, {violations} violations)",
                    decile * 10,
                    self.total
                );
            }
        }
    }

    /// Erases the bar so a line can be printed; the next `update` redraws it.
    pub fn clear(&mut self) {
        if self.tty && self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
            self.drawn = false;
        }
    }

    /// Ends the bar's line.
    pub fn finish(&mut self) {
        if self.tty && self.drawn {
            let _ = writeln!(std::io::stderr());
            self.drawn = false;
        }
    }
}
