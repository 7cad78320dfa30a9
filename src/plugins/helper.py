# quayside's helper for new-style Python modules (AnsibleModule), run with the controller's
# Python that has ansible-core. It uses ansible-core's own code, so that a module is
# packaged and documented exactly as ansible-playbook would:
#
#   helper.py version                     -> {"version": "2.19.14", "modules": DIR}
#   helper.py build COLLECTIONS_PATHS     (a JSON request on standard input:
#       {"name": NAME, "path": PATH, "collection": "ns.coll" or null})
#     -> {"options": {...} or null, "payload": TEXT, "error": null}
#
# The payload is ansible-core's AnsiballZ wrapper of the module and the module_utils it
# imports, whose arguments are read from standard input when it runs (instead of being
# written into the file), so that one file serves every task and host of a run.

import json
import os
import sys


def version():
    import ansible
    from ansible.release import __version__

    print(json.dumps({
        "version": __version__,
        "modules": os.path.join(os.path.dirname(ansible.__file__), "modules"),
    }))


# The arguments ansible-core writes into the wrapper, replaced by a read of standard input.
PLACEHOLDER = {"ANSIBLE_MODULE_ARGS": {}}
READ_ARGS = """
def _quayside_params():
    import sys
    return sys.stdin.read()

"""


def build(collections):
    request = json.load(sys.stdin)
    from ansible.plugins.loader import init_plugin_loader, fragment_loader

    init_plugin_loader([p for p in collections.split(os.pathsep) if p])
    from ansible.executor import module_common
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.utils.plugin_docs import get_docstring

    path = request["path"]
    options = None
    try:
        doc = get_docstring(path, fragment_loader, collection_name=request.get("collection"),
                            plugin_type="module")[0]
        if doc:
            options = doc.get("options") or {}
            options = {
                str(name): {
                    "required": bool((spec or {}).get("required", False)),
                    "aliases": [str(a) for a in (spec or {}).get("aliases") or []],
                }
                for name, spec in options.items()
            }
    except Exception:
        # A module without readable documentation: its arguments are checked by the module
        # when it runs, as under ansible-playbook.
        options = None

    built = module_common.modify_module(
        module_name=request["name"],
        module_path=path,
        module_args={},
        templar=Templar(loader=DataLoader()),
        task_vars={"ansible_python_interpreter": "/usr/bin/python3"},
    )
    if built.module_style != "new":
        raise SystemExit(f"{path} is not a new-style module ({built.module_style})")
    text = built.b_module_data.decode("utf-8")
    encoded = json.dumps(PLACEHOLDER)
    marker = f"params={encoded!r},"
    main = '\nif __name__ == "__main__":'
    if text.count(marker) != 1 or text.count(main) != 1:
        raise SystemExit(f"ansible-core's wrapper of {path} is not the one quayside knows")
    text = text.replace(marker, "params=_quayside_params(),")
    text = text.replace(main, READ_ARGS + main)
    print(json.dumps({"options": options, "payload": text}))


if __name__ == "__main__":
    if sys.argv[1] == "version":
        version()
    else:
        build(sys.argv[2])
