#!/usr/bin/env python3
"""What scripts/install-test reads out of the built files, independently of the tools that made them.

    packaging/inspect.py embedded SECTION    the crates in a binary's `.dep-v0` section (cargo auditable's
                                             zlib-compressed JSON, dumped with objcopy) or in the JSON that
                                             rust-audit-info prints (`-` for standard input)
    packaging/inspect.py sbom-crates SBOM    the crates a CycloneDX SBOM lists (its main component and every
                                             pkg:cargo component)
    packaging/inspect.py sbom-check SBOM     what a CycloneDX 1.5 SBOM lacks of the fields and references the
                                             specification requires; nothing when it is well formed
    packaging/inspect.py rpm-unsigned RPM    the package without its lead and signature header (the main
                                             header and the payload), to compare two .rpm files "signature
                                             aside"; written to standard output

Crates are printed as name@version, one a line, sorted.
"""

import json
import re
import sys
import zlib

COMPONENT_TYPES = {
    "application", "framework", "library", "container", "platform", "operating-system", "device",
    "device-driver", "firmware", "file", "machine-learning-model", "data",
}


def embedded(path):
    raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    if not raw.lstrip().startswith(b"{"):
        raw = zlib.decompress(raw)
    return sorted(f"{p['name']}@{p['version']}" for p in json.loads(raw)["packages"])


def sbom_crates(path):
    bom = json.load(open(path))
    components = [bom["metadata"]["component"]] + bom.get("components", [])
    return sorted(f"{c['name']}@{c['version']}" for c in components if c.get("purl", "").startswith("pkg:cargo/"))


def sbom_check(path):
    bom = json.load(open(path))
    problems = []

    def need(ok, what):
        if not ok:
            problems.append(what)

    need(bom.get("bomFormat") == "CycloneDX", "bomFormat is not CycloneDX")
    need(bom.get("specVersion") == "1.5", "specVersion is not 1.5")
    need(isinstance(bom.get("version"), int) and bom["version"] >= 1, "version is not a positive integer")
    need(re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                      bom.get("serialNumber", "")), "serialNumber is not a urn:uuid")
    metadata = bom.get("metadata", {})
    need(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", metadata.get("timestamp", "")),
         "metadata.timestamp is not a UTC date-time")
    components = [metadata.get("component", {})] + bom.get("components", [])
    refs = [c.get("bom-ref") for c in components]
    need(None not in refs and len(refs) == len(set(refs)), "a bom-ref is missing or repeated")
    for c in components:
        name = c.get("name")
        need(isinstance(name, str) and name, "a component has no name")
        need(c.get("type") in COMPONENT_TYPES, f"{name}: type {c.get('type')} is not a component type")
        for h in c.get("hashes", []):
            need(h.get("alg") == "SHA-256" and re.fullmatch(r"[0-9a-f]{64}", h.get("content", "")),
                 f"{name}: a hash is not a SHA-256")
        for entry in c.get("licenses", []):
            need(len(set(entry) & {"license", "expression"}) == 1,
                 f"{name}: a licence entry is neither a license nor an expression")
        if "purl" in c:
            need(re.fullmatch(r"pkg:[a-z]+/[^@\s]+@[^\s]+", c["purl"]), f"{name}: purl {c['purl']} is malformed")
    for d in bom.get("dependencies", []):
        need(d.get("ref") in refs, f"dependency {d.get('ref')} names no component")
        for other in d.get("dependsOn", []):
            need(other in refs, f"{d.get('ref')} depends on {other}, which is no component")
    return problems


def rpm_unsigned(path):
    data = open(path, "rb").read()
    # The lead is 96 bytes; the signature header is a header structure padded to 8 bytes.
    start = 96
    if data[:4] != b"\xed\xab\xee\xdb" or data[start:start + 3] != b"\x8e\xad\xe8":
        sys.exit(f"{path}: not an rpm")
    entries = int.from_bytes(data[start + 8:start + 12], "big")
    size = int.from_bytes(data[start + 12:start + 16], "big")
    end = start + 16 + 16 * entries + size
    end += -end % 8
    return data[end:]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    command, path = sys.argv[1:]
    if command == "embedded":
        print("\n".join(embedded(path)))
    elif command == "sbom-crates":
        print("\n".join(sbom_crates(path)))
    elif command == "sbom-check":
        problems = sbom_check(path)
        if problems:
            print("\n".join(problems))
    elif command == "rpm-unsigned":
        sys.stdout.buffer.write(rpm_unsigned(path))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
