#!/usr/bin/env python3
"""Extracts, from a clone of HubSpot/HubSpot-public-api-spec-collection, the
operations leadroute-hubspot sends and the schemas they reference, into the
small JSON files next to this script (test data for tests/contract.rs).

    python3 extract.py /path/to/HubSpot-public-api-spec-collection

Only the operations below are kept (paths, parameters, request bodies) with
the transitive closure of their `$ref`s; descriptions and examples are
dropped. Each output records its source path and commit under
`x-leadroute-source`.
"""
import json
import subprocess
import sys
from pathlib import Path

REPO = "HubSpot/HubSpot-public-api-spec-collection"
SPECS = {
    # output name: (source path, {path: [methods]})
    "companies-v3": ("PublicApiSpecs/CRM/Companies/Rollouts/424/v3/companies.json",
                     {"/crm/v3/objects/companies/search": ["post"]}),
    "contacts-v3": ("PublicApiSpecs/CRM/Contacts/Rollouts/424/v3/contacts.json",
                    {"/crm/v3/objects/contacts": ["post"],
                     "/crm/v3/objects/contacts/{contactId}": ["get", "patch"]}),
    "associations-v4": ("PublicApiSpecs/CRM/Associations/Rollouts/130902/v4/associations.json",
                        {"/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}": ["put"]}),
    "owners-v3": ("PublicApiSpecs/CRM/Crm Owners/Rollouts/146888/v3/crmOwners.json",
                  {"/crm/v3/owners": ["get"]}),
    "companies-2026-03": ("PublicApiSpecs/CRM/Companies/Rollouts/424/2026-03/companies.json",
                          {"/crm/objects/2026-03/companies/search": ["post"]}),
    "contacts-2026-03": ("PublicApiSpecs/CRM/Contacts/Rollouts/424/2026-03/contacts.json",
                         {"/crm/objects/2026-03/contacts": ["post"],
                          "/crm/objects/2026-03/contacts/{contactId}": ["get", "patch"]}),
    "associations-2026-03": ("PublicApiSpecs/CRM/Associations/Rollouts/130902/2026-03/associations.json",
                             {"/crm/objects/2026-03/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}": ["put"]}),
    "owners-2026-03": ("PublicApiSpecs/CRM/Crm Owners/Rollouts/146888/2026-03/crmOwners.json",
                       {"/crm/owners/2026-03": ["get"]}),
}
DROP = {"description", "example", "examples", "summary", "externalDocs", "x-hubspot-rate-limit-exemption"}


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in DROP}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def refs(v, out):
    if isinstance(v, dict):
        r = v.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/schemas/"):
            out.add(r.rsplit("/", 1)[1])
        for x in v.values():
            refs(x, out)
    elif isinstance(v, list):
        for x in v:
            refs(x, out)


def main(clone, out_dir):
    clone = Path(clone)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    git = lambda *a: subprocess.check_output(["git", "-C", str(clone), *a], text=True).strip()
    for name, (path, ops) in SPECS.items():
        doc = json.loads(git("show", f"HEAD:{path}"))
        commit = git("log", "-1", "--format=%H", "--", path)
        paths = {}
        for p, methods in ops.items():
            item = doc["paths"][p]
            paths[p] = {m: strip(item[m]) for m in methods}
            if "parameters" in item:
                paths[p]["parameters"] = strip(item["parameters"])
        schemas = doc.get("components", {}).get("schemas", {})
        keep, todo = set(), set()
        refs(paths, todo)
        while todo:
            s = todo.pop()
            if s in keep:
                continue
            keep.add(s)
            refs(schemas[s], todo)
        out = {
            "openapi": doc["openapi"],
            "info": {"title": doc["info"]["title"], "version": doc["info"]["version"]},
            "x-leadroute-source": {"repository": REPO, "path": path, "commit": commit},
            "paths": paths,
            "components": {"schemas": {s: strip(schemas[s]) for s in sorted(keep)}},
        }
        (out_dir / f"{name}.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
        print(f"{name}.json: {len(paths)} paths, {len(keep)} schemas, from {path}@{commit[:12]}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: extract.py CLONE_OF_THE_SPEC_REPOSITORY OUT_DIR")
    main(sys.argv[1], sys.argv[2])
