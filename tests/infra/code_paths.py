"""What each Lambda function's code can do, read from its source (nothing is run).

From functions/<name>/handler.py (its module code, which runs at cold start, and its
`handler`), follow every function, method and class the code refers to, through the
`realtime` package, and collect what the reached code does:

- the AWS operations it calls on a boto3 client (`<…>client.<operation>(…)`, and
  `get_paginator("<operation>")`) of the services the stack grants (SERVICES: DynamoDB,
  the @connections API, SQS, EventBridge), told apart by botocore's own service models:
  a client's service is the one whose model has every operation the class (or module)
  calls on that receiver, or the one named where it is created
  (`… = boto3.client("<service>")`); a receiver no single service fits is reported in
  `ambiguous`. For DynamoDB's TransactWriteItems, the kinds of items the reached code
  builds (`{"Put": …}`, `{"Update": …}`, `{"Delete": …}`, `{"ConditionCheck": …}`), which
  DynamoDB authorizes one by one as PutItem, UpdateItem, DeleteItem and ConditionCheckItem;
- requests the code signs and sends itself, without boto3: in a module that names a SigV4
  signing name as a constant (`SERVICE = "execute-api"`), a call with an HTTP method as a
  literal argument (`self._call("POST", …)`) is the @connections operation of that method;
- the same for library classes the code uses (Powertools' DynamoDBPersistenceLayer, which
  stores the idempotency records in our table), read from the library's installed source;
- the metric names it passes to `add_metric(name=...)`.

References are followed by name, with the receiver's type where the source says it: `self`
(the class and every class it inherits from or is inherited by), parameters and attributes
through their annotations (a Protocol port stands for the package classes that implement
it: every method, with a signature that accepts the protocol's calls), locals through what
they are assigned, calls through return annotations. Functions a module registers with a
decorator (the REST routes) are reached when the module is imported. An attribute whose
receiver's type is unknown reaches every method of that name in the package (more than the
code can do, never less), unless the name is also a method of a built-in type (`.append`,
`.join`, …): those are reported in `ambiguous`, which the tests require to be empty, so a
reference the analysis cannot place fails loudly instead of being dropped.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name

from infra.paths import FUNCTIONS_DIR, LAYER_PYTHON_DIR

PACKAGE = "realtime"
TRANSACTION_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
# DynamoDB operations whose IAM actions are not simply "dynamodb:<Operation>": the
# transaction is authorized per item (above); the others are not modelled here.
_PER_ITEM = {"TransactWriteItems"}
_UNMODELLED = {"TransactGetItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}
# Decorators that only wrap a function: it is reached when referenced. Any other decorator
# on a module-level function (a route, an exception handler) registers it for a framework
# to call, so it is reached when its module is imported.
_WRAPPING_DECORATORS = {"cache", "lru_cache", "cached_property", "property", "staticmethod", "classmethod",
                        "contextmanager", "wraps", "override", "abstractmethod"}  # fmt: skip
# Methods the runtime calls implicitly on an instance of a class the code refers to.
_IMPLICIT_METHODS = {"__init__", "__post_init__", "model_post_init", "__call__", "__enter__", "__exit__",
                     "__iter__", "__next__"}  # fmt: skip
# Methods of a built-in or library container that hand back what it holds, and methods of a
# library object that hand back what our code gave it (a Future's result).
_ELEMENT_ACCESSORS = {"pop", "popleft", "get", "setdefault", "__getitem__"}
_PASSED_THROUGH = {"result"}
_SEQUENCES = {"list", "deque", "set", "frozenset", "Sequence", "MutableSequence", "Iterable", "Iterator",
              "Collection", "AbstractSet", "MutableSet", "Queue", "SimpleQueue", "LifoQueue"}  # fmt: skip
_MAPPINGS = {"dict", "Mapping", "MutableMapping", "defaultdict", "OrderedDict"}
_BUILTIN_METHODS = frozenset(
    name for kind in (str, bytes, list, dict, set, frozenset, tuple, int, float, object) for name in dir(kind)
)


@cache
def _operations(service: str) -> dict[str, str]:
    """snake_case operation (as boto3 calls it) → operation name, from botocore's model."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


@cache
def _http_method(service: str, operation: str) -> str:
    model = botocore.session.get_session().get_service_model(service)
    return str(model.operation_model(operation).http["method"])


@cache
def _http_operation(service: str, method: str) -> str:
    """The operation of a REST-style service (the @connections API) an HTTP method calls."""
    model = botocore.session.get_session().get_service_model(service)
    (operation,) = [name for name in model.operation_names if _http_method(service, name) == method]
    return operation


DYNAMODB = "dynamodb"
MANAGEMENT_API = "apigatewaymanagementapi"
SQS = "sqs"
EVENTS = "events"
# The services whose calls the stack grants (infra/permissions.py), by botocore name.
SERVICES = (DYNAMODB, MANAGEMENT_API, SQS, EVENTS)
# SigV4 signing name → botocore service, for requests the code signs itself.
SIGNING_NAMES = {"execute-api": MANAGEMENT_API}
_HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
# Operations IAM authorizes as another action (the batch forms of SQS's calls).
_IAM_ACTIONS = {
    (SQS, "SendMessageBatch"): "sqs:SendMessage",
    (SQS, "DeleteMessageBatch"): "sqs:DeleteMessage",
    (SQS, "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
}
_IAM_PREFIXES = {DYNAMODB: "dynamodb", SQS: "sqs", EVENTS: "events"}


def iam_action(service: str, operation: str) -> str:
    return _IAM_ACTIONS.get((service, operation), f"{_IAM_PREFIXES[service]}:{operation}")


def _services_with(operations: set[str]) -> list[str]:
    """The modelled services whose clients have every one of these (snake_case) operations."""
    return [service for service in SERVICES if operations <= set(_operations(service))]


def _is_client(receiver: ast.expr) -> bool:
    return _dotted(receiver).lower().endswith("client")


def _created_client(value: ast.expr | None) -> str | None:
    """The service of `boto3.client("<service>", …)` (or `<session>.client(…)`), else None."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "client"):
        return None
    names = [arg for arg in value.args[:1]] + [k.value for k in value.keywords if k.arg == "service_name"]
    if names and isinstance(names[0], ast.Constant) and isinstance(names[0].value, str):
        return names[0].value
    return None


@dataclass
class Clients:
    """The boto3 clients of one class (or of one module's functions), by receiver: what it
    calls on each, and the service named where a receiver is created."""

    operations: dict[str, set[str]] = field(default_factory=dict)
    created: dict[str, str] = field(default_factory=dict)

    def add(self, nodes: Iterator[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                service = _created_client(node.value)
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if service is not None:
                    for target in targets:
                        self.created[_dotted(target)] = service
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_client(node.func.value):
                self.operations.setdefault(_dotted(node.func.value), set()).add(_operation(node))

    def service(self, receiver: str, operation: str) -> str | None:
        """The service of one call; None when it is not an operation of a modelled service.
        Raises Ambiguous when several services fit."""
        if receiver in self.created:
            return self.created[receiver] if operation in _operations(self.created[receiver]) else None
        candidates = _services_with(self.operations.get(receiver, set()) | {operation})
        if not candidates:  # operations of several services on one receiver: go by this one
            candidates = _services_with({operation})
        if len(candidates) > 1:
            raise Ambiguous(f"{receiver}.{operation}: an operation of {', '.join(candidates)}")
        return candidates[0] if candidates else None


class Ambiguous(Exception):
    """A client call the analysis cannot attribute to exactly one service."""


def _operation(call: ast.Call) -> str:
    """The snake_case operation a client call performs (a paginator's too)."""
    assert isinstance(call.func, ast.Attribute)
    if call.func.attr == "get_paginator":
        first = call.args[0]
        assert isinstance(first, ast.Constant), ast.unparse(call)
        return str(first.value)
    return call.func.attr


# -- the source, indexed ----------------------------------------------------------------------


@dataclass
class Code:
    """A function, a method, or a module's top-level code (name "<module>")."""

    module: str
    owner: str | None  # class qualname for a method
    name: str
    node: ast.AST

    @property
    def qualname(self) -> str:
        return f"{self.owner or self.module}.{self.name}"


@dataclass
class Class:
    qualname: str
    module: str
    node: ast.ClassDef
    bases: list[str] = field(default_factory=list)  # package classes, qualnames
    methods: dict[str, Code] = field(default_factory=dict)
    protocol: bool = False


@dataclass
class Module:
    name: str
    tree: ast.Module
    package: str  # what a relative import is relative to
    # local name → (module, attribute or None when the name is the module itself)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    functions: dict[str, Code] = field(default_factory=dict)
    classes: dict[str, Class] = field(default_factory=dict)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def handler_module(function: str) -> str:
    return f"functions.{function}.handler"


class Program:
    """The `realtime` package and the handlers, parsed once."""

    def __init__(self, layer: Path = LAYER_PYTHON_DIR, functions: Path = FUNCTIONS_DIR) -> None:
        self.modules: dict[str, Module] = {}
        for path in sorted((layer / PACKAGE).rglob("*.py")):
            self._add(_module_name(path, layer), path)
        for path in sorted(functions.glob("*/handler.py")):
            self._add(handler_module(path.parent.name), path)
        self.classes = {c.qualname: c for m in self.modules.values() for c in m.classes.values()}
        for module in self.modules.values():
            for cls in module.classes.values():
                for base in cls.node.bases:
                    resolved = self.resolve(module.name, base)
                    if isinstance(resolved, Class):
                        cls.bases.append(resolved.qualname)
                    elif _dotted(base) in {"Protocol", "typing.Protocol"}:
                        cls.protocol = True
        self.methods_named: dict[str, list[Code]] = {}
        for cls in self.classes.values():
            for method in cls.methods.values():
                self.methods_named.setdefault(method.name, []).append(method)
        # boto3 clients, by class (qualname) or module (name); modules that sign requests.
        self.clients: dict[str, Clients] = {}
        self.signing: dict[str, str] = {}
        for module in self.modules.values():
            clients = self.clients.setdefault(module.name, Clients())
            for statement in module.tree.body:
                if not isinstance(statement, ast.ClassDef):
                    clients.add(ast.walk(statement))
            for cls in module.classes.values():
                clients = self.clients.setdefault(cls.qualname, Clients())
                for method in cls.methods.values():
                    clients.add(ast.walk(method.node))
            signs = _signing_names(module.tree)
            if signs:
                (self.signing[module.name],) = signs  # several signing names: not modelled
        self._scopes: dict[str, Scope] = {}
        self._types: dict[tuple[str, str], Types] = {}

    def scope(self, code: Code) -> Scope:
        key = f"{code.module}:{code.qualname}"
        if key not in self._scopes:
            self._scopes[key] = Scope(self, code)
        return self._scopes[key]

    def global_type(self, module: str, name: str) -> Types:
        """The type of a module-level variable (`hub = RealtimeHub()`), following imports."""
        key = (module, f"<global {name}>")
        if key in self._types:
            return self._types[key]
        self._types[key] = None  # while computing it (a cycle stays unknown)
        found = self.modules.get(module)
        types: Types = None
        if found is not None:
            scope = self.scope(Code(module, None, "<module>", found.tree))
            values = [
                statement.value
                for statement in found.tree.body
                if isinstance(statement, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)
            ]
            if values:
                types = _union([scope.type_of(value) for value in values])
            elif name in found.imports:
                source, attribute = found.imports[name]
                if attribute is not None and source in self.modules:
                    types = self.global_type(source, attribute)
                elif attribute is not None:
                    types = BUILTIN  # a library's object
        self._types[key] = types
        return types

    def attribute_type(self, owner: str, attribute: str) -> Types:
        """The type of `self.<attribute>`: a property's return annotation, or whatever the
        class hierarchy's methods assign to it."""
        key = (owner, attribute)
        if key in self._types:
            return self._types[key]
        self._types[key] = None  # while computing it (a cycle stays unknown)
        found: list[Types] = []
        for cls in self.hierarchy(owner):
            for statement in cls.node.body:  # a declared field (pydantic, dataclass)
                if (
                    isinstance(statement, ast.AnnAssign)
                    and isinstance(statement.target, ast.Name)
                    and statement.target.id == attribute
                ):
                    found.append(
                        self.scope(Code(cls.module, None, "<module>", cls.node)).annotation(statement.annotation)
                    )
            for method in cls.methods.values():
                if method.name == attribute:  # a property: a method is never a receiver
                    found.append(self.scope(method).annotation(getattr(method.node, "returns", None)))
                for node in ast.walk(method.node):
                    targets: list[ast.expr]
                    assigned: ast.expr | None
                    annotation: ast.expr | None
                    if isinstance(node, ast.Assign):
                        targets, assigned, annotation = node.targets, node.value, None
                    elif isinstance(node, ast.AnnAssign):
                        targets, assigned, annotation = [node.target], node.value, node.annotation
                    else:
                        continue
                    for target in targets:
                        if (
                            isinstance(target, ast.Attribute)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == "self"
                            and target.attr == attribute
                        ):
                            scope = self.scope(method)
                            if annotation is not None:
                                found.append(scope.annotation(annotation))
                            elif assigned is not None:
                                found.append(scope.type_of(assigned))
        types = _union(found) if found else None
        self._types[key] = types
        return types

    def attribute_annotations(self, owner: str, attribute: str) -> list[tuple[Scope, ast.expr]]:
        """The annotations `self.<attribute>` is declared with in the class hierarchy."""
        found: list[tuple[Scope, ast.expr]] = []
        for cls in self.hierarchy(owner):
            for statement in cls.node.body:
                if (
                    isinstance(statement, ast.AnnAssign)
                    and isinstance(statement.target, ast.Name)
                    and statement.target.id == attribute
                ):
                    found.append((self.scope(Code(cls.module, None, "<module>", cls.node)), statement.annotation))
            for method in cls.methods.values():
                for node in ast.walk(method.node):
                    if (
                        isinstance(node, ast.AnnAssign)
                        and isinstance(node.target, ast.Attribute)
                        and isinstance(node.target.value, ast.Name)
                        and node.target.value.id == "self"
                        and node.target.attr == attribute
                    ):
                        found.append((self.scope(method), node.annotation))
        return found

    @property
    def functions(self) -> list[str]:
        return sorted(name.split(".")[1] for name in self.modules if name.startswith("functions."))

    def _add(self, name: str, path: Path) -> None:
        tree = ast.parse(path.read_text(), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        module = Module(name, tree, package)
        for statement in tree.body:
            if isinstance(statement, ast.If | ast.Try):  # e.g. `if TYPE_CHECKING:` (for annotations)
                for node in ast.walk(statement):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        module.imports |= _imports(node, package)
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                module.imports |= _imports(node, package)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                module.functions[node.name] = Code(name, None, node.name, node)
            elif isinstance(node, ast.ClassDef):
                qualname = f"{name}.{node.name}"
                cls = Class(qualname, name, node)
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        cls.methods[item.name] = Code(name, qualname, item.name, item)
                module.classes[node.name] = cls
        self.modules[name] = module

    # -- names ---------------------------------------------------------------------------

    def resolve(self, module: str, node: ast.expr) -> Code | Class | Module | External | None:
        """What a Name or a dotted Attribute refers to at the top level of `module`."""
        if isinstance(node, ast.Name):
            return self.lookup(module, node.id)
        if isinstance(node, ast.Attribute):
            target = self.resolve(module, node.value)
            if isinstance(target, Module):
                return self.lookup(target.name, node.attr)
            if isinstance(target, External) and target.attribute is None:
                return External(target.module, node.attr)
        return None

    def lookup(self, module: str, name: str, depth: int = 0) -> Code | Class | Module | External | None:
        found = self.modules.get(module)
        if found is None or depth > 10:
            return None
        if name in found.functions:
            return found.functions[name]
        if name in found.classes:
            return found.classes[name]
        if name in found.imports:
            source, attribute = found.imports[name]
            if attribute is None:
                return self.modules.get(source) or External(source, None)
            if f"{source}.{attribute}" in self.modules:
                return self.modules[f"{source}.{attribute}"]
            if source in self.modules:
                return self.lookup(source, attribute, depth + 1)
            return External(source, attribute)
        return None

    def ancestors(self, qualname: str) -> list[Class]:
        seen: list[Class] = []
        pending = [qualname]
        while pending:
            cls = self.classes[pending.pop(0)]
            if cls not in seen:
                seen.append(cls)
                pending += cls.bases
        return seen

    def hierarchy(self, qualname: str) -> list[Class]:
        """The class, what it inherits from and what inherits from it (at run time `self`
        may be any subclass, whose overrides are called)."""
        related = {c.qualname for c in self.ancestors(qualname)}
        for cls in self.classes.values():
            if qualname in {a.qualname for a in self.ancestors(cls.qualname)}:
                related |= {a.qualname for a in self.ancestors(cls.qualname)}
        return [self.classes[name] for name in sorted(related)]

    def implementations(self, protocol: str) -> set[str]:
        """Package classes that have every method of a Protocol (structural typing), each
        accepting the arguments the protocol's method does (so that a use case that happens
        to share a method name with a port, like RealtimeHub.publish and
        EventPublisher.publish, is not taken for an implementation of it)."""
        wanted = self.classes[protocol].methods
        found = set()
        for cls in self.classes.values():
            if cls.protocol:
                continue
            methods: dict[str, Code] = {}
            for ancestor in self.ancestors(cls.qualname):  # the first definition in the MRO wins
                for name, method in ancestor.methods.items():
                    methods.setdefault(name, method)
            if all(name in methods and _accepts(methods[name].node, wanted[name].node) for name in wanted):
                found.add(cls.qualname)
        return found

    def client_service(self, owner: str, receiver: str, operation: str) -> str | None:
        """The service of `<receiver>.<operation>(…)` in a method of class `owner` (its
        whole hierarchy shares its clients) or in a function of module `owner`."""
        if owner in self.classes:
            merged = Clients()
            for cls in self.hierarchy(owner):
                clients = self.clients[cls.qualname]
                merged.created |= clients.created
                for name, operations in clients.operations.items():
                    merged.operations.setdefault(name, set()).update(operations)
            return merged.service(receiver, operation)
        return self.clients[owner].service(receiver, operation)

    def created_services(self) -> set[str]:
        """Every service the code creates a boto3 client of by name."""
        return {service for clients in self.clients.values() for service in clients.created.values()}


@dataclass(frozen=True)
class External:
    """A name imported from outside the package."""

    module: str
    attribute: str | None


def _imports(node: ast.Import | ast.ImportFrom, package: str) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            found[alias.asname or alias.name.split(".")[0]] = (alias.name, None)
        return found
    source = node.module or ""
    if node.level:  # relative import
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        source = ".".join([*base, *([source] if source else [])])
    for alias in node.names:
        found[alias.asname or alias.name] = (source, alias.name)
    return found


def _parameters(node: ast.AST) -> tuple[list[ast.arg], int, bool, set[str], set[str], bool]:
    """(positional parameters without self, how many are required, *args?, keyword-only
    names, required keyword-only names, **kwargs?) of a function definition."""
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    arguments = node.args
    decorators = {_dotted(d).split(".")[-1] for d in node.decorator_list}
    positional = [*arguments.posonlyargs, *arguments.args][0 if "staticmethod" in decorators else 1 :]
    required = len(positional) - len(arguments.defaults)
    keyword_only = {a.arg for a in arguments.kwonlyargs}
    required_keywords = {a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d is None}
    return (
        positional,
        required,
        arguments.vararg is not None,
        keyword_only,
        required_keywords,
        arguments.kwarg is not None,
    )


def _accepts(implementation: ast.AST, protocol: ast.AST) -> bool:
    """Whether a method accepts every call the protocol's method allows (by arity and
    keyword names, not annotations)."""
    wanted, wanted_required, _, wanted_keywords, _, _ = _parameters(protocol)
    positional, required, varargs, keywords, required_keywords, kwargs = _parameters(implementation)
    names = {a.arg for a in positional} | keywords
    return (
        required <= wanted_required
        and (len(positional) >= len(wanted) or varargs)
        and (wanted_keywords <= names or kwargs)
        and required_keywords <= wanted_keywords
    )


def _signing_names(tree: ast.Module) -> set[str]:
    """The services a module signs requests for: its top-level string constants that are
    SigV4 signing names (SIGNING_NAMES)."""
    return {
        SIGNING_NAMES[statement.value.value]
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Constant)
        and statement.value.value in SIGNING_NAMES
    }


def _executed(node: ast.AST) -> Iterator[ast.AST]:
    """ast.walk, less what never runs: annotations (postponed by `from __future__ import
    annotations`) and `if TYPE_CHECKING:` blocks."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        if isinstance(current, ast.If) and _dotted(current.test).endswith("TYPE_CHECKING"):
            pending += current.orelse
            continue
        for name, value in ast.iter_fields(current):
            if name in {"annotation", "returns"}:
                continue
            if isinstance(value, ast.AST):
                pending.append(value)
            elif isinstance(value, list):
                pending += [item for item in value if isinstance(item, ast.AST)]


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


# -- types --------------------------------------------------------------------------------------

# An expression's type: package class qualnames; BUILTIN (a value of a type outside the
# package, on which nothing of ours can be called); or None (unknown).
Types = frozenset[str] | None
BUILTIN: frozenset[str] = frozenset()
Target = Code | Class | Module | External | None


def _union(types: list[Types]) -> Types:
    if any(t is None for t in types):
        return None
    return frozenset().union(*[t for t in types if t is not None])


class Scope:
    """The names of one piece of code: a function (with its nested functions and lambdas)
    or a module's top level."""

    def __init__(self, program: Program, code: Code) -> None:
        self.program = program
        self.code = code
        self.imports: dict[str, tuple[str, str | None]] = {}
        self.locals: dict[str, Types] = {}
        # local name → the annotations it is declared with (parameters, `x: T = …`)
        self.declared: dict[str, list[ast.expr]] = {}
        if code.name == "<module>":
            return  # its names are the module's globals
        package = program.modules[code.module].package
        # (target, value assigned, annotation, what a loop iterates over)
        assignments: list[tuple[ast.expr, ast.expr | None, ast.expr | None, ast.expr | None]] = []
        for node in ast.walk(code.node):
            if isinstance(node, ast.Import | ast.ImportFrom):
                self.imports |= _imports(node, package)
            elif isinstance(node, ast.arguments):
                for arg in [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]:
                    if arg is None:
                        continue
                    if arg.arg in {"self", "cls"} and code.owner:
                        hierarchy = program.hierarchy(code.owner)
                        self.locals[arg.arg] = frozenset(c.qualname for c in hierarchy)
                    else:
                        self.locals[arg.arg] = self.annotation(arg.annotation)
                        if arg.annotation is not None:
                            self.declared.setdefault(arg.arg, []).append(arg.annotation)
            elif isinstance(node, ast.Assign):
                assignments += [(target, node.value, None, None) for target in node.targets]
            elif isinstance(node, ast.AnnAssign):
                assignments.append((node.target, None, node.annotation, None))
                if isinstance(node.target, ast.Name):
                    self.declared.setdefault(node.target.id, []).append(node.annotation)
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                assignments.append((node.target, None, None, node.iter))
            elif isinstance(node, ast.NamedExpr):
                assignments.append((node.target, None, None, None))
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                assignments.append((node.optional_vars, None, None, None))
            elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
                assignments.append((ast.Name(id=node.name), None, None, None))
            elif isinstance(node, ast.MatchMapping) and node.rest:
                assignments.append((ast.Name(id=node.rest), None, None, None))
        arguments = dict(self.locals)
        for _ in range(3):  # a local assigned from another local: settle in a few rounds
            bound: dict[str, list[Types]] = {}
            for target, value, annotation, iterated in assignments:
                self._bind(bound, target, value, annotation, iterated)
            self.locals = arguments | {name: _union(types) for name, types in bound.items()}

    def _bind(
        self,
        bound: dict[str, list[Types]],
        target: ast.expr,
        value: ast.expr | None,
        annotation: ast.expr | None,
        iterated: ast.expr | None = None,
    ) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            values = value.elts if isinstance(value, ast.Tuple | ast.List) else None
            for index, element in enumerate(target.elts):
                matched = values is not None and len(values) == len(target.elts)
                self._bind(bound, element, values[index] if matched and values else None, None)
        elif isinstance(target, ast.Starred):
            self._bind(bound, target.value, None, None)
        elif isinstance(target, ast.Name):
            if annotation is not None:
                types = self.annotation(annotation)
            elif iterated is not None:  # a loop over a container whose annotation says what it holds
                types = self.element_type(iterated, iterated=True)
            else:
                types = self.type_of(value) if value is not None else None
            bound.setdefault(target.id, []).append(types)

    def element_type(self, container: ast.expr, *, iterated: bool = False) -> Types:
        """What a container holds, from its annotation (`deque[X]`, `list[X]`, `dict[K, V]`
        → its values, or its keys when `iterated`): for a parameter, an annotated local, or
        an annotated attribute of `self`; None when no annotation says."""
        if isinstance(container, ast.Name) and container.id in self.declared:
            declared = [(self, annotation) for annotation in self.declared[container.id]]
        elif (
            isinstance(container, ast.Attribute)
            and isinstance(container.value, ast.Name)
            and container.value.id == "self"
            and self.code.owner
        ):
            declared = self.program.attribute_annotations(self.code.owner, container.attr)
        else:
            return None
        if not declared:
            return None
        return _union([scope.elements(annotation, iterated=iterated) for scope, annotation in declared])

    def elements(self, annotation: ast.expr, *, iterated: bool = False) -> Types:
        """The types of what a container annotation holds (a mapping's values, or its keys
        when `iterated`); None when it is not one."""
        match annotation:
            case ast.Constant(value=str() as text):
                return self.elements(ast.parse(text, mode="eval").body, iterated=iterated)
            case ast.BinOp(left=left, op=ast.BitOr(), right=right):
                sides = [side for side in (left, right) if not (isinstance(side, ast.Constant) and side.value is None)]
                return _union([self.elements(side, iterated=iterated) for side in sides])
            case ast.Subscript(value=container, slice=argument):
                name = _dotted(container).split(".")[-1]
                if name == "Optional":
                    return self.elements(argument, iterated=iterated)
                arguments = argument.elts if isinstance(argument, ast.Tuple) else [argument]
                if name in _MAPPINGS and len(arguments) == 2:
                    return self.annotation(arguments[0 if iterated else 1])
                if name in _SEQUENCES and len(arguments) == 1:
                    return self.annotation(arguments[0])
        return None

    def is_local(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.locals

    def lookup(self, name: str) -> Target:
        """A name that is not a local: imported in the function, or the module's."""
        if name in self.imports:
            source, attribute = self.imports[name]
            if attribute is None:
                return self.program.modules.get(source) or External(source, None)
            if f"{source}.{attribute}" in self.program.modules:
                return self.program.modules[f"{source}.{attribute}"]
            if source in self.program.modules:
                return self.program.lookup(source, attribute)
            return External(source, attribute)
        return self.program.lookup(self.code.module, name)

    def resolve(self, node: ast.expr) -> Target:
        """What a (dotted) name that is not a local refers to."""
        if isinstance(node, ast.Name):
            return None if self.is_local(node) else self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            target = self.resolve(node.value)
            if isinstance(target, Module):
                return self.program.lookup(target.name, node.attr)
            if isinstance(target, External) and target.attribute is None:
                return External(target.module, node.attr)
        return None

    def annotation(self, node: ast.expr | None) -> Types:
        """The classes an annotation names: `X | None`, `Optional[X]`, `list[X]` (a list),
        a Protocol (the package classes implementing it); None for Any."""
        match node:
            case None:
                return None
            case ast.Constant(value=str() as text):
                return self.annotation(ast.parse(text, mode="eval").body)
            case ast.Constant(value=None):
                return BUILTIN
            case ast.BinOp(left=left, op=ast.BitOr(), right=right):
                return _union([self.annotation(left), self.annotation(right)])
            case ast.Tuple(elts=elements):
                return _union([self.annotation(element) for element in elements])
            case ast.Subscript(value=container, slice=argument):
                name = _dotted(container).split(".")[-1]
                if name in {"Optional", "Union"}:
                    return self.annotation(argument)
                if name == "Annotated":
                    return self.annotation(argument.elts[0] if isinstance(argument, ast.Tuple) else argument)
                return self.annotation(container)  # list[…], dict[…], Iterator[…], type[…]
            case ast.Name() | ast.Attribute():
                if _dotted(node) in {"Any", "typing.Any", "object"}:
                    return None
                target = self.resolve(node)
                if isinstance(target, Class):
                    return frozenset(
                        self.program.implementations(target.qualname) if target.protocol else {target.qualname}
                    )
                return BUILTIN
        return None

    def type_of(self, node: ast.expr) -> Types:
        program = self.program
        match node:
            case ast.Constant() | ast.JoinedStr() | ast.List() | ast.Tuple() | ast.Dict() | ast.Set():
                return BUILTIN
            case ast.ListComp() | ast.DictComp() | ast.SetComp() | ast.GeneratorExp() | ast.Compare():
                return BUILTIN
            case ast.BoolOp(values=values):
                return _union([self.type_of(value) for value in values])
            case ast.IfExp(body=body, orelse=orelse):
                return _union([self.type_of(body), self.type_of(orelse)])
            case ast.Name(id=name):
                if name in self.locals:
                    return self.locals[name]
                target = self.lookup(name)
                if isinstance(target, Class):
                    return frozenset({target.qualname})  # the class itself: its classmethods
                if name in self.imports or target is not None:
                    return BUILTIN if isinstance(target, External) else None
                return program.global_type(self.code.module, name)
            case ast.Attribute(value=ast.Name(id="self"), attr=attribute) if self.code.owner:
                return program.attribute_type(self.code.owner, attribute)
            case ast.Attribute(value=receiver, attr=attribute):
                owners = self.type_of(receiver)
                if owners:
                    return _union([program.attribute_type(owner, attribute) for owner in owners])
                return None
            case ast.Call(func=ast.Name(id="super")) if self.code.owner:
                ancestors = program.ancestors(self.code.owner)[1:]
                return frozenset(a.qualname for a in ancestors) if ancestors else BUILTIN
            case ast.Call(func=func):
                target = self.resolve(func)
                if isinstance(target, Class):
                    return frozenset({target.qualname})
                if isinstance(target, Code):
                    return program.scope(target).annotation(getattr(target.node, "returns", None))
                if isinstance(target, External):
                    return BUILTIN  # a library object: it calls nothing of ours by name
                if isinstance(func, ast.Attribute):
                    callee_owners = self.type_of(func.value)
                    methods = [
                        method
                        for qualname in callee_owners or ()
                        for cls in program.hierarchy(qualname)
                        if (method := cls.methods.get(func.attr)) is not None
                    ]
                    if methods:
                        return _union([program.scope(m).annotation(getattr(m.node, "returns", None)) for m in methods])
                    if callee_owners is not None and not callee_owners:  # a built-in or library object
                        if func.attr in _ELEMENT_ACCESSORS:
                            return self.element_type(func.value)  # what it holds, if annotated
                        if func.attr in _PASSED_THROUGH:
                            return None  # whatever our code handed it
                        return BUILTIN  # its own kind of object: it calls nothing of ours by name
            case ast.Subscript(value=container):
                if self.type_of(container) == BUILTIN:
                    return self.element_type(container)
        return None


# -- following the code -------------------------------------------------------------------------


@dataclass
class Reach:
    """What one function's code paths do."""

    code: set[str] = field(default_factory=set)  # qualnames reached
    calls: set[tuple[str, str]] = field(default_factory=set)  # (service, operation name)
    transaction_items: set[str] = field(default_factory=set)
    metrics: set[str] = field(default_factory=set)
    ambiguous: set[str] = field(default_factory=set)

    @property
    def table_actions(self) -> set[str]:
        actions = set()
        for service, operation in self.calls:
            if service != DYNAMODB:
                continue
            if operation in _UNMODELLED:
                raise AssertionError(f"map the IAM actions of DynamoDB {operation} (tests/infra/code_paths.py)")
            if operation in _PER_ITEM:
                actions |= {TRANSACTION_ITEMS[item] for item in self.transaction_items}
            else:
                actions.add(f"dynamodb:{operation}")
        return actions

    @property
    def management_api_methods(self) -> set[str]:
        return {_http_method(MANAGEMENT_API, op) for service, op in self.calls if service == MANAGEMENT_API}

    def actions(self, service: str) -> set[str]:
        """The IAM actions of the service's operations the code calls."""
        return {iam_action(service, operation) for called, operation in self.calls if called == service}

    @property
    def queue_actions(self) -> set[str]:
        return self.actions(SQS)

    @property
    def bus_actions(self) -> set[str]:
        return self.actions(EVENTS)


class Analysis:
    def __init__(self, program: Program | None = None) -> None:
        self.program = program or Program()
        self._functions: dict[str, Reach] = {}

    def function(self, name: str) -> Reach:
        """Everything functions/<name>/handler.py can reach, from cold start on."""
        if name not in self._functions:
            module = handler_module(name)
            reach = Reach()
            self._follow(reach, [self._top_level(module), self.program.modules[module].functions["handler"]])
            self._functions[name] = reach
        return self._functions[name]

    def entry(self, module: str, qualname: str) -> Reach:
        """Everything one function or method can reach (its module already imported)."""
        owner, _, name = qualname.rpartition(".")
        code = (
            self.program.classes[f"{module}.{owner}"].methods[name]
            if owner
            else self.program.modules[module].functions[name]
        )
        reach = Reach()
        self._follow(reach, [code])
        return reach

    def _top_level(self, module: str) -> Code:
        return Code(module, None, "<module>", self.program.modules[module].tree)

    def _follow(self, reach: Reach, pending: list[Code]) -> None:
        while pending:
            code = pending.pop()
            if code.qualname in reach.code:
                continue
            reach.code.add(code.qualname)
            pending += self._references(reach, code)

    def _references(self, reach: Reach, code: Code) -> Iterator[Code]:
        program, scope = self.program, self.program.scope(code)
        for node in self._nodes(code):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for source, attribute in _imports(node, program.modules[code.module].package).values():
                    for name in (source, f"{source}.{attribute}"):
                        if name in program.modules:
                            yield self._top_level(name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if not scope.is_local(node):
                    yield from self._target(reach, scope.lookup(node.id))
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                yield from self._attribute(reach, scope, node)
            if isinstance(node, ast.Call):
                self._call(reach, scope, node)
            elif isinstance(node, ast.Dict):
                reach.transaction_items |= {
                    key.value for key in node.keys if isinstance(key, ast.Constant) and key.value in TRANSACTION_ITEMS
                }

    def _nodes(self, code: Code) -> Iterator[ast.AST]:
        """The nodes of a function (nested functions and lambdas included); for a module,
        its top-level code and class bodies, not the bodies of its functions and methods,
        plus the functions a decorator registers."""
        if code.name != "<module>":
            yield from _executed(code.node)
            return
        module = self.program.modules[code.module]

        def top(statements: list[ast.stmt], *, in_class: bool = False) -> Iterator[ast.AST]:
            for statement in statements:
                if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                    for decorator in statement.decorator_list:
                        yield from _executed(decorator)
                    registered = any(
                        _dotted(d).split(".")[-1] not in _WRAPPING_DECORATORS for d in statement.decorator_list
                    )
                    if registered and not in_class:  # decorated methods run with their class
                        yield ast.Name(id=statement.name, ctx=ast.Load())
                elif isinstance(statement, ast.ClassDef):
                    for base in [*statement.bases, *statement.decorator_list]:
                        yield from _executed(base)
                    yield from top(statement.body, in_class=True)
                else:
                    yield from _executed(statement)

        yield from top(module.tree.body)

    def _target(self, reach: Reach, target: object) -> Iterator[Code]:
        if isinstance(target, Code):
            yield target
        elif isinstance(target, Class):
            yield from self._instantiated(target)
        elif isinstance(target, External) and target.attribute:
            self._library_class(reach, target)

    def _instantiated(self, cls: Class) -> Iterator[Code]:
        yield Code(cls.module, None, "<module>", self.program.modules[cls.module].tree)
        for ancestor in self.program.ancestors(cls.qualname):
            for method in ancestor.methods.values():
                decorators = {_dotted(d).split(".")[-1] for d in getattr(method.node, "decorator_list", [])}
                if method.name in _IMPLICIT_METHODS or decorators - _WRAPPING_DECORATORS:
                    yield method  # constructors, validators and serializers run implicitly

    def _attribute(self, reach: Reach, scope: Scope, node: ast.Attribute) -> Iterator[Code]:
        program = self.program
        target = scope.resolve(node.value)
        if isinstance(target, Module):
            yield from self._target(reach, program.lookup(target.name, node.attr))
            return
        if isinstance(target, External):
            self._library_class(reach, External(target.module, node.attr))
            return
        types = scope.type_of(node.value)
        if types is not None:
            for qualname in types:
                for cls in program.hierarchy(qualname):
                    if node.attr in cls.methods:
                        yield cls.methods[node.attr]
            return
        candidates = program.methods_named.get(node.attr, [])
        if candidates and node.attr in _BUILTIN_METHODS:
            reach.ambiguous.add(f"{scope.code.qualname}: {ast.unparse(node)}")
            return
        yield from candidates

    def _call(self, reach: Reach, scope: Scope, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "add_metric":
            for keyword in node.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    reach.metrics.add(str(keyword.value.value))
        if not isinstance(func, ast.Attribute):
            self._signed_call(reach, scope, node)
            return
        code = scope.code
        if _is_client(func.value):
            operation = _operation(node)
            try:
                service = self.program.client_service(code.owner or code.module, _dotted(func.value), operation)
            except Ambiguous as exc:
                reach.ambiguous.add(f"{code.qualname}: {exc}")
                return
            if service is not None:
                reach.calls.add((service, _operations(service)[operation]))
            return
        self._signed_call(reach, scope, node)

    def _signed_call(self, reach: Reach, scope: Scope, node: ast.Call) -> None:
        """A call passing an HTTP method, in a module that signs its own requests."""
        service = self.program.signing.get(scope.code.module)
        if service is None:
            return
        for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
            if isinstance(argument, ast.Constant) and argument.value in _HTTP_METHODS:
                try:
                    reach.calls.add((service, _http_operation(service, str(argument.value))))
                except ValueError:
                    reach.ambiguous.add(f"{scope.code.qualname}: {argument.value} is no operation of {service}")

    def _library_class(self, reach: Reach, target: External) -> None:
        """Client calls made by a class from an installed library the code uses."""
        for service, operation in _library_calls(target.module, target.attribute or ""):
            reach.calls.add((service, operation))


@cache
def _library_calls(module: str, attribute: str) -> frozenset[tuple[str, str]]:
    try:
        value = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        return frozenset()
    if not inspect.isclass(value) or value.__module__.split(".")[0] in {"builtins", "typing"}:
        return frozenset()
    clients = Clients()
    calls: list[ast.Call] = []
    for cls in value.__mro__[:-1]:
        try:
            tree = ast.parse(inspect.getsource(cls))
        except (OSError, TypeError, SyntaxError, IndentationError):
            continue
        clients.add(ast.walk(tree))
        calls += [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_client(node.func.value)
        ]
    found = set()
    for call in calls:
        assert isinstance(call.func, ast.Attribute)
        operation = _operation(call)
        service = clients.service(_dotted(call.func.value), operation)  # Ambiguous: fails loudly
        if service is not None:
            found.add((service, _operations(service)[operation]))
    return frozenset(found)


@cache
def analysis() -> Analysis:
    """The repository's code, analysed once per test session."""
    return Analysis()
