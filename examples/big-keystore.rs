//! Makes an ICG installation whose keystore holds the server entry plus COUNT trusted certificates (a large
//! trust store), with new material from the same root: the input of the scaling figures in scripts/bench.
//!
//! Usage: cargo run --release --example big-keystore -- DIR jks|pkcs12 COUNT

use icg_renew::keystore::jks::JksStore;
use icg_renew::sandbox::{leaf, root_ca, LeafSpec, DNS_NAMES, IP_ADDRESSES, SERVER_ALIAS};
use icg_renew::secret::Password;
use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use std::path::PathBuf;

fn trusted_certificates(count: usize, now: i64) -> Vec<(String, X509)> {
    let key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    (0..count)
        .map(|n| {
            let mut name = X509NameBuilder::new().unwrap();
            name.append_entry_by_text("CN", &format!("Trusted CA {n}"))
                .unwrap();
            let name = name.build();
            let mut b = X509Builder::new().unwrap();
            b.set_version(2).unwrap();
            b.set_serial_number(
                openssl::bn::BigNum::from_u32(n as u32 + 1)
                    .unwrap()
                    .to_asn1_integer()
                    .unwrap()
                    .as_ref(),
            )
            .unwrap();
            b.set_subject_name(&name).unwrap();
            b.set_issuer_name(&name).unwrap();
            b.set_pubkey(&key).unwrap();
            b.set_not_before(Asn1Time::from_unix(now - 86_400).unwrap().as_ref())
                .unwrap();
            b.set_not_after(Asn1Time::from_unix(now + 3650 * 86_400).unwrap().as_ref())
                .unwrap();
            b.sign(&key, MessageDigest::sha256()).unwrap();
            (format!("trusted-{n}"), b.build())
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, format, count] = args.as_slice() else {
        eprintln!("usage: big-keystore DIR jks|pkcs12 COUNT");
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    let count: usize = count.parse().expect("COUNT is a number");
    let now = icg_renew::utc::Clock::system().now;
    let root = root_ca("Bench Root CA", now, 10).unwrap();
    let spec = |from: i64, until: i64| LeafSpec {
        common_name: DNS_NAMES[0],
        dns: &DNS_NAMES,
        ips: &IP_ADDRESSES,
        not_before: from,
        not_after: until,
        is_ca: false,
    };
    let installed = leaf(&spec(now - 86_400, now + 10 * 86_400), Some(&root)).unwrap();
    let renewed = leaf(&spec(now - 3600, now + 365 * 86_400), Some(&root)).unwrap();
    let trusted = trusted_certificates(count, now);
    let mut trusted_refs: Vec<(&str, &X509)> = vec![("root", &root.cert)];
    trusted_refs.extend(trusted.iter().map(|(alias, cert)| (alias.as_str(), cert)));

    let password = Password::new("bench-store-password".into());
    let chain = [installed.cert.clone(), root.cert.clone()];
    let bytes = match format.as_str() {
        "jks" => {
            let pkcs8 = installed.key.private_key_to_pkcs8().unwrap();
            JksStore::build(
                &password,
                &[(SERVER_ALIAS, &pkcs8, &chain)],
                &trusted_refs,
                (now * 1000) as u64,
            )
            .unwrap()
        }
        "pkcs12" => icg_renew::keystore::pkcs12::build(
            &password,
            SERVER_ALIAS,
            &installed.key,
            &chain,
            &trusted_refs,
        )
        .unwrap(),
        other => panic!("unknown format {other}"),
    };
    for sub in ["usg/conf", "usg/keys", "new"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let keystore = dir.join("usg/keys/keystore.jks");
    std::fs::write(&keystore, bytes).unwrap();
    std::fs::write(
        dir.join("usg/conf/application-prod.yml"),
        format!(
            "server:\n  port: 8443\n  ssl:\n    key-store: {}\n    key-store-password: {}\n",
            keystore.display(),
            password.expose()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("store.pass"), password.expose()).unwrap();
    let mut bundle = renewed.cert.to_pem().unwrap();
    bundle.extend(root.cert.to_pem().unwrap());
    bundle.extend(renewed.key.private_key_to_pem_pkcs8().unwrap());
    std::fs::write(dir.join("new/new-bundle.pem"), bundle).unwrap();
    std::fs::write(dir.join("new/root.pem"), root.cert.to_pem().unwrap()).unwrap();
    for (name, cert) in [
        ("new/leaf.pem", &renewed.cert),
        ("installed-leaf.pem", &installed.cert),
    ] {
        std::fs::write(dir.join(name), cert.to_pem().unwrap()).unwrap();
    }
    println!("{}", keystore.display());
}
