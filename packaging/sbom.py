#!/usr/bin/env python3
"""Writes the CycloneDX 1.5 SBOM of the release binary, from `cargo metadata` and Cargo.lock.

    packaging/sbom.py TARGET FEATURES SOURCE_DATE_EPOCH > icg-renew-VERSION.cdx.json

The crates are the ones `cargo auditable` embeds in the binary: every package reachable from icg-renew through
normal and build dependencies (not dev-dependencies) on TARGET with FEATURES, each with its version, its
Cargo.lock checksum and its licence. OpenSSL, which the `openssl-src` crate compiles into the binary, is listed
as a component of its own with its CPE, so that a scanner that does not know Rust crates still matches OpenSSL's
advisories. Deterministic: the timestamp is SOURCE_DATE_EPOCH and the serial number is derived from the content,
so two builds of one commit write the same bytes. Why this instead of cargo-cyclonedx: docs/decisions.md.
"""

import datetime
import hashlib
import json
import re
import subprocess
import sys
import tomllib
import uuid


def purl(name, version):
    return f"pkg:cargo/{name}@{version}"


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: packaging/sbom.py TARGET FEATURES SOURCE_DATE_EPOCH")
    target, features, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", target,
             "--features", features],
            check=True, stdout=subprocess.PIPE,
        ).stdout
    )
    with open(metadata["workspace_root"] + "/Cargo.lock", "rb") as lock:
        checksums = {(p["name"], p["version"]): p.get("checksum") for p in tomllib.load(lock)["package"]}
    packages = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    root = metadata["resolve"]["root"]

    # Normal and build edges from the root: what is compiled into, or compiles, the binary. A package reached
    # through normal edges alone is "runtime", one reached only through a build edge is "build", as
    # cargo-auditable records them.
    def reachable(kinds):
        seen, queue, edges = {root}, [root], {}
        while queue:
            node = queue.pop()
            edges[node] = {d["pkg"] for d in nodes[node]["deps"] if {k["kind"] for k in d["dep_kinds"]} & kinds}
            for dep in sorted(edges[node] - seen):
                seen.add(dep)
                queue.append(dep)
        return edges

    edges = reachable({None, "build"})
    runtime = reachable({None})
    kind = {p: "runtime" if p in runtime else "build" for p in edges}

    def ref(package_id):
        package = packages[package_id]
        return purl(package["name"], package["version"])

    def component(package_id):
        package = packages[package_id]
        entry = {
            "type": "application" if package_id == root else "library",
            "bom-ref": ref(package_id),
            "name": package["name"],
            "version": package["version"],
            "purl": ref(package_id),
        }
        checksum = checksums.get((package["name"], package["version"]))
        if checksum:
            entry["hashes"] = [{"alg": "SHA-256", "content": checksum}]
        if package.get("license"):
            entry["licenses"] = [{"expression": package["license"].replace("/", " OR ")}]
        entry["properties"] = [{"name": "cdx:cargo:dependency_kind", "value": kind[package_id]}]
        return entry

    components = [component(p) for p in sorted(kind, key=ref) if p != root]
    dependencies = [
        {"ref": ref(p), "dependsOn": sorted(ref(d) for d in edges[p])} for p in sorted(kind, key=ref)
    ]
    # OpenSSL itself: openssl-src's version is 300.MINOR.PATCH+OPENSSL_VERSION.
    for package_id in kind:
        package = packages[package_id]
        match = re.fullmatch(r"\d+\.\d+\.\d+\+(\d+\.\d+\.\d+)", package["version"])
        if package["name"] == "openssl-src" and match:
            version = match.group(1)
            components.append({
                "type": "library",
                "bom-ref": f"openssl@{version}",
                "name": "openssl",
                "version": version,
                "description": "OpenSSL, compiled into the binary from the openssl-src crate (feature vendored)",
                "cpe": f"cpe:2.3:a:openssl:openssl:{version}:*:*:*:*:*:*:*",
                "purl": f"pkg:generic/openssl@{version}",
                "licenses": [{"expression": "Apache-2.0"}],
            })
            dependencies.append({"ref": f"openssl@{version}", "dependsOn": []})
            for entry in dependencies:
                if entry["ref"] == ref(package_id):
                    entry["dependsOn"].append(f"openssl@{version}")

    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "icg-renew packaging/sbom.py"}]},
            "component": component(root),
            "properties": [{"name": "icg-renew:target", "value": target}, {"name": "icg-renew:features", "value": features}],
        },
        "components": components,
        "dependencies": dependencies,
    }
    content = json.dumps(bom, sort_keys=True).encode()
    serial = uuid.UUID(bytes=hashlib.sha256(content).digest()[:16], version=5)
    bom = {"bomFormat": bom.pop("bomFormat"), "specVersion": bom.pop("specVersion"),
           "serialNumber": f"urn:uuid:{serial}", **bom}
    json.dump(bom, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
