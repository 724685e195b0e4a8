"""Names that load on first use (PEP 562), for modules that must stay cheap or TensorFlow-free to import.

`__getattr__, __dir__ = lazy_attributes(__name__, globals(), {"Name": "module.path", "Other": "module:attr"})`
makes `module_name.Name` import `module.path` (a path starting with "." is relative to the package
`module_name`) on first access and return its attribute of the same name (or `attr`), then keep it in the
module's globals so the next access costs nothing.
"""
import importlib


def lazy_attributes(module_name, module_globals, exports):
    def __getattr__(name):  # noqa: N807 - the PEP 562 hook
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        path, _, attribute = target.partition(":")
        module = importlib.import_module(path, package=module_name) if path.startswith(".") else \
            importlib.import_module(path)
        value = getattr(module, attribute or name)
        module_globals[name] = value
        return value

    def __dir__():  # noqa: N807 - the PEP 562 hook
        return sorted(set(module_globals) | set(exports))

    return __getattr__, __dir__
