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


for _patch in (_true_version_dates, _current_follows_label, _atomic_item_writes, _exit_with_stdin):
    try:
        _patch()
    except Exception:
        pass
