//! Real accounts for the privilege tests: each made with `useradd` (a system account with its own group, no
//! home, no login shell) and removed with its group when dropped. Tests that use one run as root and say
//! SKIPPED otherwise.
#![allow(dead_code)]

use std::process::Command;

/// An account made for one test.
pub struct Account {
    pub name: &'static str,
    pub uid: u32,
    pub gid: u32,
}

impl Account {
    /// Makes the account `name` afresh (one a killed run left behind is removed first).
    pub fn create(name: &'static str) -> Account {
        remove(name);
        let made = Command::new("useradd")
            .args([
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(name)
            .output()
            .expect("useradd runs");
        assert!(
            made.status.success(),
            "useradd {name}: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .args([flag, name])
                .output()
                .expect("id runs");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("id prints a number")
        };
        Account {
            name,
            uid: id("-u"),
            gid: id("-g"),
        }
    }
}

/// Removes the account `name` and its group, quietly when there is none.
fn remove(name: &str) {
    let _ = Command::new("userdel").arg(name).output();
    let _ = Command::new("groupdel").arg(name).output();
}

impl Drop for Account {
    fn drop(&mut self) {
        remove(self.name);
    }
}
