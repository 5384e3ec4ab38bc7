# The sandbox's corrections to moto, loaded by Python at start because sandbox/motoServer.ts puts
# this folder on moto_server's PYTHONPATH. Each makes moto answer as AWS does where the sandbox
# shows the difference; each leaves moto alone when its code is not what it expects. And a
# watchdog, so that moto never outlives the sandbox that started it.
#
# ListSecretVersionIds: moto 5 answers the time of the request as every version's CreatedDate, so
# `rotator status` (and the secret-age metric) saw every secret as 0 s old. AWS answers when the
# version was created, which moto keeps (GetSecretValue answers it): answer that one.
import json


def _true_version_dates():
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.list_secret_version_ids
    if getattr(original, "_sandbox_patched", False):
        return

    def list_secret_version_ids(self, secret_id, *args, **kwargs):
        answer = original(self, secret_id, *args, **kwargs)
        try:
            listing = json.loads(answer)
            versions = self.secrets[secret_id].versions
            for entry in listing.get("Versions", []):
                created = versions.get(entry.get("VersionId"), {}).get("createdate")
                if created is not None:
                    entry["CreatedDate"] = created
            return json.dumps(listing)
        except Exception:
            return answer

    list_secret_version_ids._sandbox_patched = True
    SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids


# GetSecretValue without VersionId or VersionStage: AWS answers the version labelled AWSCURRENT.
# moto answers its own "default version", which UpdateSecretVersionStage does not move, so after
# the rotator moved AWSCURRENT, `aws secretsmanager get-secret-value --secret-id …` (and boto3's
# get_secret_value without a stage) kept answering the previous secret. Move it with the label.
def _current_follows_label():
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.update_secret_version_stage
    if getattr(original, "_sandbox_patched", False):
        return

    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        answer = original(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        try:
            if version_stage == "AWSCURRENT" and move_to_version_id:
                self.secrets[secret_id].set_default_version_id(move_to_version_id)
        except Exception:
            pass
        return answer

    update_secret_version_stage._sandbox_patched = True
    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage


# DynamoDB: moto serves requests on threads and evaluates a ConditionExpression, then writes, with
# nothing between the two, so two concurrent conditional UpdateItems on one item can both pass and
# one update is lost. DynamoDB applies a conditional write atomically per item. One lock around
# moto's item writes makes each check-and-write atomic, as in AWS (it serializes writes to all
# items, which only costs throughput nobody measures against moto).
def _atomic_item_writes():
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    # Reads too: moto applies an update to the stored item attribute by attribute, so a read at the
    # same moment could see half of it (a record `cancelled` without its reason); DynamoDB never shows
    # part of a write.
    for name in (
        "put_item",
        "update_item",
        "delete_item",
        "transact_write_items",
        "batch_write_item",
        "get_item",
        "query",
        "scan",
        "batch_get_item",
        "transact_get_items",
    ):
        original = getattr(DynamoDBBackend, name, None)
        if original is None or getattr(original, "_sandbox_patched", False):
            continue

        def locked(*args, __original=original, **kwargs):
            with lock:
                return __original(*args, **kwargs)

        functools.update_wrapper(locked, original)
        locked._sandbox_patched = True
        setattr(DynamoDBBackend, name, locked)


# DynamoDB TransactWriteItems: moto backs up every table a transaction touches with a deepcopy of
# the whole table, once per item, before it writes (to roll back if any item fails). Its cost grows
# with the table: with a fleet's ledger (10,000 clients' records, locks and index entries) each
# transaction took seconds of moto's one core and every other call waited behind it. AWS's cost
# does not depend on the table's size. Back up only the items the transaction names instead, and
# put them back when it fails: the same all-or-nothing answer, at the cost of its own items.
def _transactions_back_up_their_items():
    import copy
    import threading

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_sandbox_patched", False) or "__deepcopy__" in vars(Table):
        return
    keeping = threading.local()

    def table_deepcopy(self, memo):
        # Within a transaction the table backs itself up: moto's rollback then puts back the same
        # table, and the wrapper below restores the items it changed.
        if getattr(keeping, "tables", False):
            return self
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return clone

    def touched_item(backend, entry):
        op = next(iter(entry.values()))
        table = backend.get_table(op["TableName"])
        key = op.get("Key") or {
            name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name is not None
        }
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
        return table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))

    def restore(table, hash_value, range_value, item):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
            return
        under_hash = table.items.get(hash_value)
        if item is None:
            if under_hash is not None:
                under_hash.pop(range_value, None)
                if not under_hash:
                    table.items.pop(hash_value, None)
        else:
            table.items[hash_value][range_value] = item

    def transact_write_items(self, transact_items, *args, **kwargs):
        backups = []
        for entry in transact_items if isinstance(transact_items, list) else []:
            try:
                backups.append(touched_item(self, entry))
            except Exception:
                # moto's own validation answers a malformed item; nothing of it to restore.
                continue
        keeping.tables = True
        try:
            return original(self, transact_items, *args, **kwargs)
        except BaseException:
            for backup in reversed(backups):
                restore(*backup)
            raise
        finally:
            keeping.tables = False

    Table.__deepcopy__ = table_deepcopy
    transact_write_items._sandbox_patched = True
    DynamoDBBackend.transact_write_items = transact_write_items


# Every request: moto finds the service's app under one global lock, and on the way lists its own
# package folder (a listdir and a stat per service module, some 150) to learn which services it
# has. Which modules are installed does not change while it runs: list them once. Under a burst
# the lock had every request wait behind those system calls.
def _modules_listed_once():
    from moto import backends

    original = backends.list_of_moto_modules
    if getattr(original, "_sandbox_patched", False):
        return
    listed = []

    def list_of_moto_modules():
        if not listed:
            listed.append(tuple(original()))
        return iter(listed[0])

    list_of_moto_modules._sandbox_patched = True
    backends.list_of_moto_modules = list_of_moto_modules


# PutEvents: for every event and every matching rule's target, moto builds each input path of its
# default template with jsonpath_ng's parse, which generates a new LALR parser (PLY's yacc) per
# call: tens of milliseconds of moto's one core per expression. A parsed path is immutable and the
# expressions are a handful of constants: parse each once.
def _json_paths_parsed_once():
    import functools

    import jsonpath_ng.ext

    original = jsonpath_ng.ext.parse
    if getattr(original, "_sandbox_patched", False):
        return
    cached = functools.lru_cache(maxsize=256)(original)

    def parse(path, *args, **kwargs):
        if args or kwargs or not isinstance(path, str):
            return original(path, *args, **kwargs)
        return cached(path)

    parse._sandbox_patched = True
    jsonpath_ng.ext.parse = parse


# Every request: werkzeug logs a line (through colorama's converting stream) to moto's stderr,
# which the sandbox does not read but for the last lines of a failed start. Under a burst that
# logging was the largest part of moto's time per request. Warnings and errors still go out.
def _requests_not_logged():
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)


# The watchdog: the sandbox holds moto's stdin open for as long as it wants moto. When it closes it
# (to stop moto), or dies without closing it (SIGKILL, a crash: the OS closes it), moto exits at
# once: os._exit skips Python's teardown of moto's modules (2-3 s here), and moto's state is in
# memory anyway. Only when the sandbox asked for it, and not passed on to anything moto starts.
def _exit_with_stdin():
    import os
    import sys
    import threading

    if os.environ.pop("SANDBOX_MOTO_EXIT_WITH_STDIN", "") != "1":
        return

    def watch():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except Exception:
            pass
        os._exit(0)

    threading.Thread(target=watch, name="sandbox-stdin-watchdog", daemon=True).start()


# Order: the transactions' backup before the lock, so that the lock wraps it.
for _patch in (
    _true_version_dates,
    _current_follows_label,
    _transactions_back_up_their_items,
    _modules_listed_once,
    _json_paths_parsed_once,
    _requests_not_logged,
    _atomic_item_writes,
    _exit_with_stdin,
):
    try:
        _patch()
    except Exception:
        pass
