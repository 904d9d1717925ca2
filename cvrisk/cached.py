"""``cached_value``: a property computed once per instance, without a lock.

``functools.cached_property`` on Python 3.11 takes one lock per property, shared by every
instance of the class, on each first access: the service's worker threads, reading the ``day``
of different observations, wait for each other, and a record's first reads cost about twice a
plain call (fixed in Python 3.12, which dropped the lock). The values cached here are pure
functions of a frozen instance, so two threads computing one at the same moment get equal
values and either may be kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached_value(Generic[T]):  # noqa: N801 (used as a decorator, like cached_property)
    """Like ``functools.cached_property`` (the value is stored in the instance's
    ``__dict__`` on first access, and read from there afterwards), without its lock."""

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_value[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | cached_value[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value
