"""The Pulumi SDK internals the offline plan relies on: named here, looked up here, nowhere else.

The SDK's public API can run a program under mocks only inside a test (`@pulumi.runtime.test`); the offline plan
runs it from the toolkit, as the language host would, and records what MockResourceArgs leaves out. That needs a
few names the SDK keeps private and may change in any release. Each is one `Internal` below with why the plan needs
it; `check()` names every one this SDK lacks and the version they were written for, and `evaluate` calls it first,
so an SDK upgrade fails with that message instead of an AttributeError deep inside a plan. The optional ones only
make plans cheaper while one evaluates (each swap is put back after it); two of them belong to the SDK's own
machinery rather than its package (asyncio's default executor, dill's global-name scan) and are named here too.

Written for pulumi==3.272.0 (requirements.lock); tests/foundation/test_pulumi_internals.py holds the SDK to it.
"""
from __future__ import annotations

import concurrent.futures
import importlib
import types
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar

import pulumi
from google.protobuf import struct_pb2

WRITTEN_FOR = "3.272.0"
T = TypeVar("T")


class SdkInternalsMissing(RuntimeError):
    """The installed Pulumi SDK lacks internals the offline plan needs; the message names each and the version."""


@dataclass(frozen=True)
class Internal:
    where: str  # "module:attribute", the attribute dotted below the module: "settings:SETTINGS.outputs.clear"
    why: str
    required: bool = True  # False: without it plans stay correct, only slower

    @property
    def module(self) -> str:
        return self.where.split(":")[0]

    @property
    def attribute(self) -> str:
        return self.where.split(":")[1]

    @property
    def name(self) -> str:
        return f"{self.module}.{self.attribute}"


SYNC_AWAIT = Internal("pulumi.runtime.sync_await:_sync_await", "runs coroutines to the end on the SDK's event loop")
RUN_PROGRAM = Internal("pulumi.runtime.stack:run_pulumi_func", "runs the program, waits for its RPCs (as `pulumi up`)")
ROOT = Internal("pulumi.runtime.settings:ROOT.set", "resets the root Stack, or an earlier plan's exports leak in")
PENDING_RPCS = Internal("pulumi.runtime.settings:SETTINGS.rpc_manager.clear", "drops an earlier plan's RPC records")
PENDING_OUTPUTS = Internal("pulumi.runtime.settings:SETTINGS.outputs.clear", "drops an earlier plan's open outputs")
MOCK_MONITOR = Internal("pulumi.runtime.mocks:MockMonitor", "the mock engine, extended to record options and parents")
REGISTER_RESOURCE = Internal("pulumi.runtime.mocks:MockMonitor.RegisterResource",
                             "the registration mock_register mirrors (compare the two when porting)")
REGISTRATION = Internal("pulumi.runtime.mocks:MockMonitor.ResourceRegistration",
                        "what the mock monitor keeps of each resource (its getResource invoke reads it)")
RESOLVE_TRANSFORMS = Internal("pulumi.runtime.mocks:_resolve_callbacks", "a registration's transforms, for the mocks")
ENSURE_EVENT_LOOP = Internal("pulumi.runtime.sync_await:_ensure_event_loop",
                             "the loop of the thread the monitor answers on (reading resource references needs one)")
REGISTER_RESPONSE = Internal("pulumi.runtime.proto.resource_pb2:RegisterResourceResponse", "a registration's answer")
DESERIALIZE = Internal("pulumi.runtime.rpc:deserialize_properties", "reads a registration's inputs off the wire")
SERIALIZE = Internal("pulumi.runtime.rpc:serialize_properties", "writes a state that is not plain values")
SPECIAL_SIG_KEY = Internal("pulumi.runtime.rpc:_special_sig_key", "marks a secret (or other wrapped value) to mask")
STACK_TRACE = Internal("pulumi.runtime.resource:_get_stack_trace", "the stack walk plans skip (~15 %)", required=False)
EMPTY_STACK_TRACE = Internal("pulumi.runtime.proto.source_pb2:StackTrace", "the empty trace it gets instead",
                             required=False)
CONTAINS_UNKNOWNS = Internal("pulumi.runtime.rpc:contains_unknowns",
                             "the unknowns check plans swap for one leaving no garbage cycles (~10 %)", required=False)
# asyncio's, not the SDK's: the loop's default executor, which the SDK sends every monitor call to
DEFAULT_EXECUTOR = Internal("asyncio.base_events:BaseEventLoop.set_default_executor",
                            "the monitor's calls run inline while a plan evaluates (~5 %); its `_default_executor` "
                            "is put back after", required=False)
# dill (0.4.1), the SDK's pickler for dynamic providers: serialize_provider runs it for the writer in every dr plan
NESTED_GLOBALS = Internal("dill.detect:nestedglobals",
                          "dill's scan of a code object for global names, remembered per code object (~0.03 s a plan)",
                          required=False)
INTERNALS = (SYNC_AWAIT, RUN_PROGRAM, ROOT, PENDING_RPCS, PENDING_OUTPUTS, MOCK_MONITOR, REGISTER_RESOURCE,
             REGISTRATION, RESOLVE_TRANSFORMS, ENSURE_EVENT_LOOP, REGISTER_RESPONSE, DESERIALIZE, SERIALIZE,
             SPECIAL_SIG_KEY, STACK_TRACE, EMPTY_STACK_TRACE, CONTAINS_UNKNOWNS, DEFAULT_EXECUTOR,
             NESTED_GLOBALS)

# RegisterResourceRequest fields the recording monitor reads (the engine's protocol, as this SDK's protobufs spell it).
REQUEST_MESSAGE = "pulumi.runtime.proto.resource_pb2.RegisterResourceRequest"
REQUEST_FIELDS = ("type", "name", "parent", "object", "custom", "protect", "retainOnDelete", "deleteBeforeReplace",
                  "ignoreChanges", "provider", "dependencies", "importId", "transforms")

_ABSENT = object()


def _resolve(internal: Internal) -> Any:
    try:
        value: Any = importlib.import_module(internal.module)
    except ImportError:
        return _ABSENT
    for part in internal.attribute.split("."):
        value = getattr(value, part, _ABSENT)
        if value is _ABSENT:
            break
    return value


def _missing_request_fields() -> list[str]:
    module, message = REQUEST_MESSAGE.rsplit(".", 1)
    request = _resolve(Internal(f"{module}:{message}", "the registration request"))
    fields = getattr(getattr(request, "DESCRIPTOR", None), "fields_by_name", {})
    return [f"{REQUEST_MESSAGE}.{name}" for name in REQUEST_FIELDS if name not in fields]


def installed_version() -> str:
    try:
        return metadata.version("pulumi")
    except metadata.PackageNotFoundError:
        return "not installed"


def missing(*, include_optional: bool = True) -> list[str]:
    """The name and purpose of every internal this SDK lacks (the optional ones too unless told otherwise)."""
    absent = [f"{i.name}: {i.why}" + ("" if i.required else " (optional)") for i in INTERNALS
              if (i.required or include_optional) and _resolve(i) is _ABSENT]
    return absent + [f"{field}: read from every registration" for field in _missing_request_fields()]


def check(*, include_optional: bool = False) -> None:
    """SdkInternalsMissing naming every internal the plan needs that this SDK lacks, and the version it was
    written for; returns quietly when all are there."""
    absent = missing(include_optional=include_optional)
    if absent:
        lines = "\n".join(f"  - {line}" for line in absent)
        raise SdkInternalsMissing(
            f"the offline plan was written for pulumi=={WRITTEN_FOR}; the installed pulumi ({installed_version()}) "
            f"lacks {len(absent)} internal(s) it needs:\n{lines}\n"
            f"Install pulumi=={WRITTEN_FOR} (requirements.lock) or port ops/drctl/planning/pulumi_internals.py.")


def get(internal: Internal) -> Any:
    """The internal itself; SdkInternalsMissing naming it when this SDK lacks it."""
    value = _resolve(internal)
    if value is _ABSENT:
        raise SdkInternalsMissing(f"pulumi {installed_version()} lacks {internal.name} ({internal.why}); "
                                  f"the offline plan was written for pulumi=={WRITTEN_FOR}")
    return value


def mock_monitor_base() -> type:
    """The class the recording monitor extends. `object` when the SDK lacks it, so the toolkit still imports and
    `check()` (the first thing a plan does) says what is missing."""
    found = _resolve(MOCK_MONITOR)
    return object if found is _ABSENT else found


def mock_register(monitor: Any, request: Any) -> tuple[Any, dict[str, Any] | None]:
    """MockMonitor.RegisterResource as pulumi 3.272.0 has it, and the inputs it read (None for the root Stack, which
    it answers without reading them). Two differences, neither visible to the program: the recording monitor gets
    the inputs deserialized once, not twice; and a state of plain values goes into the answer's Struct as is, which
    is what serialize_properties makes of it too, without a coroutine per value (~10 % of a plan)."""
    urn = monitor.make_urn(request.parent, request.type, request.name)
    response = get(REGISTER_RESPONSE)
    if request.type == "pulumi:pulumi:Stack":
        return response(urn=urn), None
    get(ENSURE_EVENT_LOOP)()
    inputs = get(DESERIALIZE)(request.object)
    args = pulumi.runtime.MockResourceArgs(
        typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
        resource_id=request.importId, custom=request.custom or False,
        transforms=get(RESOLVE_TRANSFORMS)(request.transforms))
    id_, state = monitor.mocks.new_resource(args)
    wire = _plain_struct(state) if _plain(state) else sync_await(get(SERIALIZE)(state, {}))
    monitor.resources[urn] = get(REGISTRATION)(urn, id_, state)
    return response(urn=urn, id=id_, object=wire), inputs


_PLAIN_LEAVES = (str, bool, int, float, type(None))


def _plain(state: Any) -> bool:
    """Only dicts (str keys), lists, tuples, str, numbers, bools and None, all of those exact types: no resource,
    asset, Output, unknown or input type, which serialize_properties would turn into something else."""
    if type(state) is not dict:
        return False
    pending = [state]
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is dict:
            if any(type(key) is not str for key in value):
                return False
            pending.extend(value.values())
        elif kind is list or kind is tuple:
            pending.extend(value)
        elif kind not in _PLAIN_LEAVES:
            return False
    return True


def _plain_struct(state: dict[str, Any]) -> Any:
    # serialize_properties' own loop for a plain state: a None property is left out, the rest set as they are
    struct = struct_pb2.Struct()
    for key in state:
        value = state[key]
        if value is not None:
            struct[key] = value
    return struct


def sync_await(awaitable: Awaitable[T]) -> T:
    return get(SYNC_AWAIT)(awaitable)


def run_pulumi_func(program: Callable[[], Any]) -> Awaitable[None]:
    return get(RUN_PROGRAM)(program)


def reset_root() -> None:
    get(ROOT)(None)


def clear_pending() -> None:
    get(PENDING_RPCS)()
    get(PENDING_OUTPUTS)()


def deserialize_properties(wire: Any) -> dict[str, Any]:
    return get(DESERIALIZE)(wire)


def special_sig_key() -> str:
    return get(SPECIAL_SIG_KEY)


@contextmanager
def _swapped(internal: Internal, replacement: Any) -> Iterator[None]:
    """`internal` (a module attribute) is `replacement` inside the block; untouched when this SDK lacks it."""
    if _resolve(internal) is _ABSENT:
        yield
        return
    module = importlib.import_module(internal.module)
    original = getattr(module, internal.attribute)
    setattr(module, internal.attribute, replacement)
    try:
        yield
    finally:
        setattr(module, internal.attribute, original)


_UNKNOWN = type(pulumi.UNKNOWN)


def _contains_unknowns(val: Any) -> bool:
    """The SDK's `rpc.contains_unknowns` (an Unknown anywhere in nested dicts and lists, each container visited
    once), without its recursive inner function: that one is a function-cell cycle with a fresh `set[int]`
    annotation, six objects only the cyclic collector frees, made for each of ~10,000 calls a plan."""
    kind = type(val)
    if kind is str or kind is int or kind is bool or kind is float or val is None:  # most calls: no Unknown
        return False
    if isinstance(val, _UNKNOWN):
        return True
    if not isinstance(val, (dict, list)):
        return False
    pending, seen = [val], set()
    while pending:
        item = pending.pop()
        if isinstance(item, _UNKNOWN):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            pending.extend(item[key] for key in item)
        elif isinstance(item, list):
            pending.extend(item)
    return False


@contextmanager
def unknowns_check_acyclic() -> Iterator[None]:
    """While a plan evaluates, the SDK checks values for unknowns with `_contains_unknowns`: same answers, and the
    ~60,000 cyclic objects a plan left for the collector (~30 ms each plan) are not made. `pulumi up` is untouched.
    Without this internal plans stay correct, only slower."""
    with _swapped(CONTAINS_UNKNOWNS, _contains_unknowns):
        yield


# (id of the code object, recurse) -> (the code object, kept so its id stays its own; the names dill found)
_GLOBAL_NAMES: dict[tuple[int, bool], tuple[types.CodeType, list[str]]] = {}


def _remembering(scan: Callable[..., list[str]]) -> Callable[..., list[str]]:
    def nested_globals(func: Any, recurse: bool = True) -> list[str]:
        code = func.__func__ if isinstance(func, types.MethodType) else func  # as dill.detect.code reads it
        code = code.__code__ if isinstance(code, types.FunctionType) else code
        if not isinstance(code, types.CodeType):
            return scan(func, recurse)
        key = (id(code), recurse)
        if key not in _GLOBAL_NAMES:
            _GLOBAL_NAMES[key] = (code, scan(code, recurse))
        # new string objects, as each scan makes: the pickler memoises by identity, so shared ones would change
        # the pickle's bytes (not what it loads to)
        return [(name + "_")[:-1] for name in _GLOBAL_NAMES[key][1]]
    return nested_globals


@contextmanager
def global_names_remembered() -> Iterator[None]:
    """dill finds the globals a function uses by disassembling its code to text and parsing it, again for every
    function of the writer's provider in every dr plan (~75 % of pickling it). A code object never changes, so
    while a plan evaluates the names found are remembered per code object; the pickle is byte for byte the same
    (test_pulumi_internals). `pulumi up` is untouched. Without this internal plans stay correct, only slower."""
    scan = _resolve(NESTED_GLOBALS)
    if scan is _ABSENT:
        yield
        return
    with _swapped(NESTED_GLOBALS, _remembering(scan)):
        yield


class _Inline(concurrent.futures.ThreadPoolExecutor):
    """Runs what it is given at once, on the calling thread: the SDK's `run_in_executor(None, rpc)` then costs no
    thread hop (a mock monitor answers from memory, and never waits for the loop)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting task, as the pool would
            done.set_exception(error)
        return done


_INLINE = _Inline(max_workers=1)


@contextmanager
def monitor_calls_inline() -> Iterator[None]:
    """While a plan evaluates, the SDK's monitor calls (run_in_executor with the default executor) run inline on
    the loop's thread instead of hopping to a worker thread and back for each of ~250 registrations: the mock
    monitor is Python answering from memory. Only this plan's loop, and only until it ends: a `pulumi up` must
    keep its worker threads (its engine answers slowly). Without this internal plans stay correct, only slower."""
    loop = get(ENSURE_EVENT_LOOP)()
    saved = getattr(loop, "_default_executor", _ABSENT)
    if _resolve(DEFAULT_EXECUTOR) is _ABSENT or saved is _ABSENT:
        yield
        return
    loop.set_default_executor(_INLINE)
    try:
        yield
    finally:
        loop._default_executor = saved


@contextmanager
def source_positions_skipped() -> Iterator[None]:
    """The SDK walks the whole Python stack (traceback.extract_stack) for every resource to tell the engine which
    line declared it; ~15 % of a plan under mocks, and the recording monitor never reads it. `pulumi up` is
    untouched: this applies only while a plan evaluates. Without either internal plans stay correct, only slower
    (scripts/bench/plan.py shows it; test_pulumi_internals names it)."""
    empty = _resolve(EMPTY_STACK_TRACE)
    if empty is _ABSENT:
        yield
        return
    with _swapped(STACK_TRACE, empty):
        yield
