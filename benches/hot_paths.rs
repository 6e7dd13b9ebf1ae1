//! The library's hot paths, timed in-process: load a keystore (JKS and PKCS#12, small and with 1,000
//! trusted entries), run all checks, and build and serialise the new keystore. Prints median, min and max
//! of repeated runs. `cargo bench` runs it; scripts/bench has the whole-process figures.

use icg_renew::checks;
use icg_renew::install::{self, Locate};
use icg_renew::installed::Installed;
use icg_renew::keystore::{jks::JksStore, Keystore, NewKeyEntry};
use icg_renew::material::{self, MaterialOptions};
use icg_renew::sandbox;
use icg_renew::secret::Password;
use icg_renew::utc::Clock;
use std::path::Path;
use std::time::{Duration, Instant};

const RUNS: usize = 25;

fn report(name: &str, mut f: impl FnMut()) {
    f();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| {name} | {:.3} | {:.3} | {:.3} |",
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS - 1])
    );
}

/// The sandbox's keystore rebuilt with `extra` more trusted entries (the root under other aliases).
fn with_trusted(installed: &Installed, password: &Password, extra: usize, pkcs12: bool) -> Vec<u8> {
    let key = installed
        .store
        .private_key(&installed.alias, password, &installed.path)
        .unwrap();
    let aliases: Vec<String> = (0..extra).map(|n| format!("trusted-{n}")).collect();
    let mut trusted: Vec<(&str, &openssl::x509::X509)> = vec![("root", &installed.root)];
    trusted.extend(aliases.iter().map(|a| (a.as_str(), &installed.root)));
    if pkcs12 {
        icg_renew::keystore::pkcs12::build(
            password,
            &installed.alias,
            &key,
            &installed.chain,
            &trusted,
        )
        .unwrap()
    } else {
        let pkcs8 = key.private_key_to_pkcs8().unwrap();
        JksStore::build(
            password,
            &[(installed.alias.as_str(), &pkcs8, &installed.chain)],
            &trusted,
            0,
        )
        .unwrap()
    }
}

fn bench_format(dir: &Path, pkcs12: bool, clock: Clock) {
    let label = if pkcs12 { "PKCS#12" } else { "JKS" };
    let made = sandbox::create(&dir.join(label), pkcs12, 8443, clock.now).unwrap();
    let locate = Locate {
        icg_root: Some(made.root.clone()),
        ..Locate::default()
    };
    let install = install::resolve(&locate, &mut |_| unreachable!()).unwrap();
    let password = install.store_password().unwrap().clone();
    let installed = Installed::load(&install, None).unwrap();
    let material = material::load(&made.new_material, &MaterialOptions::default()).unwrap();
    let result = checks::run_all(&installed.chain, &installed.root, &material, clock);
    let chain = result.verified_chain.unwrap();
    let key = material.key.as_ref().unwrap();

    report(&format!("load {label} keystore (2 entries)"), || {
        Keystore::load(&installed.bytes, &password, &installed.path).unwrap();
    });
    let big = with_trusted(&installed, &password, 1000, pkcs12);
    let big_store = Keystore::load(&big, &password, &installed.path).unwrap();
    report(&format!("load {label} keystore (1,001 entries)"), || {
        Keystore::load(&big, &password, &installed.path).unwrap();
    });
    report(&format!("all checks ({label} sandbox)"), || {
        checks::run_all(&installed.chain, &installed.root, &material, clock);
    });
    let entry = NewKeyEntry {
        alias: &installed.alias,
        key,
        chain: &chain,
        timestamp_ms: 0,
    };
    report(
        &format!("build and serialise new {label} keystore (2 entries)"),
        || {
            installed
                .store
                .with_replaced_key(&entry, &password, &password, &installed.path)
                .unwrap();
        },
    );
    report(
        &format!("build and serialise new {label} keystore (1,001 entries)"),
        || {
            big_store
                .with_replaced_key(&entry, &password, &password, &installed.path)
                .unwrap();
        },
    );
}

fn main() {
    let dir = std::env::temp_dir().join(format!("icg-renew-bench-{}", std::process::id()));
    let clock = Clock::system();
    println!("| hot path | median ms | min ms | max ms |\n| --- | ---: | ---: | ---: |");
    bench_format(&dir, false, clock);
    bench_format(&dir, true, clock);
    let _ = std::fs::remove_dir_all(&dir);
}
