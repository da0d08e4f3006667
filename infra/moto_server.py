"""Starts moto in server mode with DynamoDB's write atomicity restored.

moto's server handles requests on several threads, and its DynamoDB backend checks a condition and
applies the write in separate steps, so two concurrent transactions can both pass
`attribute_not_exists` on the same item. Real DynamoDB never allows that, and the system's uniqueness
and money rules depend on it. Holding one lock around each write operation makes moto linearizable
for writes, as DynamoDB is per item; reads stay concurrent.
"""

import functools
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_write_lock = threading.RLock()


def _serialised(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _write_lock:
            return method(*args, **kwargs)

    return wrapper


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main()
