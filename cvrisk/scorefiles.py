"""Cohort files in and out of ``cvrisk score``: CSV and Parquet, read and written in chunks.

:func:`open_cohort` reads the columns a model needs (and an id column) from a CSV or
Parquet file as a stream of :class:`Chunk` s, so a file larger than memory is scored with
bounded memory; :class:`Output` writes the risks the same way (CSV, or Parquet by the
output's suffix).

Fast path (``pip install 'cvrisk[cohort]'``: pyarrow): CSV through pyarrow's streaming
reader (parsed in C++, numbers as float64, flags as booleans, categories dictionary-encoded
so that decoding costs one lookup per distinct value), Parquet by row groups; a background
thread reads up to :data:`READ_AHEAD` chunks ahead, so reading overlaps scoring. Without
pyarrow, CSV is read with the standard library, cell by cell (the same rules, slower).

How a CSV cell is read (both paths; text columns of a Parquet file too), by the kind of
input the column feeds:

* **missing**: an empty cell, or one of :data:`MISSING_TOKENS` (``NA``, ``NaN``, ``NULL``...);
* **number**: a decimal numeral (``55``, ``-1.5``, ``1e3``; surrounding spaces allowed), with
  ``.`` as the decimal mark, or ``,`` with ``decimal=","`` (then a ``.`` is not accepted: in
  a French file ``1.234`` may mean 1234); anything else stays text, and the score reports
  the row ("not a number (str)");
* **flag**: ``true``/``false`` in any case, or ``1``/``0`` (``1.0``/``0.0``); anything else
  stays text, and the row is reported;
* **category** and the id column: the text as it is.

Errors in the file itself (missing, unreadable, binary, not the format its suffix says, a
field too large, rows that do not match the header) are
:class:`~cvrisk.errors.InputFileError`.
"""

from __future__ import annotations

import contextlib
import csv
import os
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, TextIO

import numpy as np

from cvrisk.errors import InputFileError

Kind = Literal["number", "flag", "category", "text"]

#: Cell texts read as a missing value (besides the empty cell).
MISSING_TOKENS = ("NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A")
#: Flag words (compared in lower case), with the boolean each means.
FLAG_WORDS = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
#: A decimal numeral with "." as the decimal mark (after trimming spaces).
NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(NUMBER)
#: Parquet's magic bytes (the first and last four bytes of every Parquet file).
PARQUET_MAGIC = b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Bytes per block of pyarrow's streaming CSV reader. The reader parses a few dozen blocks
#: ahead of its consumer, so its memory is bounded by about 36 blocks (about 150 MB), not by
#: the file's size.
BLOCK_BYTES = 1 << 22
#: Rows per Parquet batch (Parquet is read a row group at a time).
CHUNK_ROWS = 1 << 18
#: Chunks the fast path reads ahead of its consumer, in a background thread (pyarrow parses
#: with the GIL released, so the next chunk is read while this one is scored and written).
READ_AHEAD = 2
#: Rows per chunk of the standard-library CSV reader (cells are Python strings: about 60
#: bytes each, so 32 768 rows of 20 columns hold about 40 MB).
TEXT_CHUNK_ROWS = 1 << 15
#: Install hint for the fast path.
FAST_PATH_HINT = "install pyarrow for fast CSV and Parquet reading: pip install 'cvrisk[cohort]'"


def has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Chunk:
    """Rows ``start .. start + rows - 1`` of the file: one array (or pandas Series) per
    model column present, and the id column's values (a numpy or pyarrow array, or None)."""

    start: int
    rows: int
    columns: dict[str, Any]
    ids: Any = None

    def labels(self) -> Any:
        """How errors name the rows: by id, else by row number (0 = the first data row)."""
        if self.ids is None:
            return np.arange(self.start, self.start + self.rows)
        if isinstance(self.ids, np.ndarray):
            return self.ids
        return _ArrowLabels(self.ids)


class _ArrowLabels:
    """A pyarrow array read as Python values, one at a time (only rows named in errors)."""

    def __init__(self, array: Any) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, row: int) -> Any:
        return self.array[row].as_py()


@dataclass
class Cohort:
    """An open cohort file: its chunks, and how far reading has got (for progress bars)."""

    path: str
    format: Literal["csv", "parquet"]
    columns: list[str]  # the model columns the file has
    chunks: Iterator[Chunk]
    total: int | None  # bytes (CSV) or rows (Parquet), when known
    unit: Literal["B", "rows"]
    position: Callable[[], int]
    fast: bool
    id_type: Any = None  # the id column's pyarrow type, when the file says (Parquet)

    def __iter__(self) -> Iterator[Chunk]:
        return self.chunks

    def close(self) -> None:
        """Stop reading (and the read-ahead thread) now, not when the cohort is collected."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


def _is_parquet(path: str) -> bool:
    return path.lower().endswith(PARQUET_SUFFIXES)


def _start_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(8192)
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory, not a cohort file") from None
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def open_cohort(
    path: str,
    kinds: Mapping[str, Kind],
    *,
    id_column: str | None = None,
    delimiter: str = ",",
    decimal: str = ".",
    block_bytes: int | None = None,
    chunk_rows: int | None = None,
    fast: bool | None = None,
) -> Cohort:
    """Open a cohort file for reading the columns of ``kinds`` (name -> kind of input) that
    it has, plus ``id_column``. The format is the suffix's (``.parquet``/``.pq``: Parquet;
    anything else: CSV). ``fast``: use pyarrow (default: when installed). ``block_bytes``
    and ``chunk_rows`` (default :data:`BLOCK_BYTES`, :data:`CHUNK_ROWS`) bound the memory.

    Raises:
        InputFileError: the file is missing, unreadable, binary, not the format its suffix
            says, or its header is unusable; ``id_column`` is not in it.
    """
    if len(delimiter) != 1 or delimiter in '\r\n"':
        raise InputFileError(f"--delimiter {delimiter!r}: give one character, such as ';'")
    if decimal not in (".", ","):
        raise InputFileError(f"--decimal {decimal!r}: use '.' or ','")
    if decimal == delimiter:
        raise InputFileError(
            f"the decimal mark and the delimiter are both {delimiter!r}: a file with decimal "
            "commas is separated by another character (use --delimiter ';')"
        )
    fast = has_pyarrow() if fast is None else fast
    block_bytes = BLOCK_BYTES if block_bytes is None else block_bytes
    start = _start_bytes(path)
    if _is_parquet(path):
        if not start.startswith(PARQUET_MAGIC):
            raise InputFileError(
                f"{path}: not a Parquet file (its suffix says Parquet; the file does not start "
                "with Parquet's PAR1 signature)"
            )
        if not fast:
            raise InputFileError(f"{path}: reading Parquet needs pyarrow; {FAST_PATH_HINT}")
        return _parquet(path, kinds, id_column, decimal, chunk_rows or CHUNK_ROWS)
    if start.startswith(PARQUET_MAGIC):
        raise InputFileError(f"{path}: a Parquet file; name it .parquet to read it as one")
    if b"\x00" in start:
        raise InputFileError(f"{path}: a binary file, not CSV text")
    header = _csv_header(path, start, delimiter)
    _check_header(path, header, kinds, id_column, delimiter)
    if fast:
        return _arrow_csv(path, header, kinds, id_column, delimiter, decimal, block_bytes)
    return _stdlib_csv(
        path, header, kinds, id_column, delimiter, decimal, chunk_rows or TEXT_CHUNK_ROWS
    )


# -- the header ---------------------------------------------------------------------------------


def _csv_header(path: str, start: bytes, delimiter: str) -> list[str]:
    if not start.strip():
        raise InputFileError(f"{path}: empty file (a CSV file needs a header line)")
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle, delimiter=delimiter, strict=True))
    except UnicodeDecodeError:
        raise InputFileError(
            f"{path}: not UTF-8 text (a binary file, or another encoding)"
        ) from None
    except csv.Error as exc:
        raise InputFileError(f"{path}, line 1: {exc}") from None
    except StopIteration:
        raise InputFileError(f"{path}: empty file (a CSV file needs a header line)") from None
    return header


def shell_word(delimiter: str) -> str:
    """A delimiter as typed in a shell: ``$'\\t'`` for a tab (``'\\t'`` would be two
    characters), quoted otherwise."""
    return "$'\\t'" if delimiter == "\t" else repr(delimiter)


def _row_advice(header: Sequence[str], delimiter: str) -> str:
    """Why a row can have another number of fields than the header: with a one-column
    header, probably another delimiter; otherwise the delimiter splits the header, and the
    row is broken (a file cut short, an extra separator, a quote never closed)."""
    if len(header) == 1:
        now = shell_word(delimiter)
        return f"is the file separated by another character? Use --delimiter (now {now})"
    return (
        f"the header has {len(header)} fields; is the file cut short, or does the row hold an "
        "extra separator or a quote that is never closed?"
    )


def _check_header(
    path: str,
    header: Sequence[str],
    kinds: Mapping[str, Kind],
    id_column: str | None,
    delimiter: str,
) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputFileError(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)
    if len(header) == 1 and not (seen & set(kinds)):  # first: it explains a missing id too
        other = next((d for d in (";", "\t", ",", "|") if d != delimiter and d in header[0]), None)
        if other is not None:
            raise InputFileError(
                f"{path}: the header is one column {header[0][:60]!r}; is the file separated "
                f"by {other!r}? Use --delimiter {shell_word(other)} (now {shell_word(delimiter)})"
            )
    if id_column is not None and id_column not in seen:
        raise InputFileError(f"{path}: no id column {id_column!r}; the columns are {list(header)}")


# -- text cells ---------------------------------------------------------------------------------


def number_cell(text: str, decimal: str = ".") -> float | str | None:
    """A CSV cell of a number column: float, None (missing) or the text (not a number)."""
    stripped = text.strip()
    if not stripped or stripped in MISSING_TOKENS:
        return None
    if decimal == ",":
        if "." in stripped:
            return text
        stripped = stripped.replace(",", ".")
    if _NUMBER.fullmatch(stripped) is None:
        return text
    return float(stripped)


def flag_cell(text: str) -> bool | str | None:
    """A CSV cell of a flag column: bool, None (missing) or the text (not a flag)."""
    stripped = text.strip()
    if not stripped or stripped in MISSING_TOKENS:
        return None
    flag = FLAG_WORDS.get(stripped.lower())
    return text if flag is None else flag


def _objects(values: Sequence[Any]) -> np.ndarray[Any, Any]:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _text_column(cells: Sequence[str | None], kind: Kind, decimal: str) -> Any:
    """Cells (None: missing) of one column as the array ``cvrisk.score`` reads."""
    if kind == "number":
        values = [None if c is None else number_cell(c, decimal) for c in cells]
        numbers = [np.nan if v is None else v for v in values]  # missing: NaN, as pyarrow's
        if all(isinstance(v, float) for v in numbers):
            return np.array(numbers, dtype=np.float64)
        return _objects(numbers)
    if kind == "flag":
        flags = [None if c is None else flag_cell(c) for c in cells]
        if all(isinstance(v, bool) for v in flags):
            return np.array(flags, dtype=bool)
        return _objects(flags)
    return _objects([None if c is None or c in MISSING_TOKENS or c == "" else c for c in cells])


# -- standard library CSV ---------------------------------------------------------------------


def _stdlib_csv(
    path: str,
    header: list[str],
    kinds: Mapping[str, Kind],
    id_column: str | None,
    delimiter: str,
    decimal: str,
    chunk_rows: int,
) -> Cohort:
    wanted = {name: i for i, name in enumerate(header) if name in kinds or name == id_column}
    handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by chunks()

    def chunks() -> Iterator[Chunk]:
        with handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            try:
                next(reader)
                start = 0
                while True:
                    rows = []
                    for row in reader:
                        if not row:  # a blank line: skipped, as pyarrow and pandas do
                            continue
                        if len(row) != len(header):
                            raise InputFileError(
                                f"{path}, line {reader.line_num}: {len(row)} fields; "
                                + _row_advice(header, delimiter)
                            )
                        rows.append(row)
                        if len(rows) == chunk_rows:
                            break
                    if not rows:
                        return
                    columns = {
                        name: _text_column([r[i] for r in rows], kinds[name], decimal)
                        for name, i in wanted.items()
                        if name in kinds
                    }
                    ids = None
                    if id_column is not None:
                        ids = _text_column([r[wanted[id_column]] for r in rows], "text", decimal)
                    yield Chunk(start, len(rows), columns, ids)
                    start += len(rows)
            except UnicodeDecodeError:
                raise InputFileError(f"{path}: not UTF-8 text") from None
            except csv.Error as exc:
                raise InputFileError(f"{path}, line {reader.line_num}: {exc}") from None

    return Cohort(
        path,
        "csv",
        [n for n in wanted if n in kinds and n != id_column],
        chunks(),
        os.path.getsize(path),
        "B",
        lambda: _tell(handle),
        fast=False,
    )


def _tell(handle: IO[Any]) -> int:
    try:
        return handle.buffer.tell() if hasattr(handle, "buffer") else handle.tell()
    except (OSError, ValueError):
        return 0


# -- pyarrow ------------------------------------------------------------------------------------


def _arrow_error(
    path: str, exc: Exception, header: Sequence[str], delimiter: str
) -> InputFileError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "straddling" in text or "block size" in text:
        text = "a field (or a row) larger than the reader's block: a binary file, or a quote "
        text += "that is never closed?"
    if "Expected" in text and "columns, got" in text:
        text += "; " + _row_advice(header, delimiter)
    if "UTF8" in text or "utf8" in text or "UTF-8" in text:
        text = "not UTF-8 text (a binary file, or another encoding): " + text
    return InputFileError(f"{path}: {text}")


def _arrow_column(array: Any, kind: Kind, decimal: str) -> Any:
    """A pyarrow array of one column as the array ``cvrisk.score`` reads."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind_of = array.type
    if pa.types.is_dictionary(kind_of):
        if kind == "category" and pa.types.is_string(kind_of.value_type):
            return _categorical(array)
        array = array.dictionary_decode()
        kind_of = array.type
    if pa.types.is_string(kind_of) or pa.types.is_large_string(kind_of):
        if kind == "category":
            return _categorical(pc.dictionary_encode(array))
        if kind == "text":
            return _objects(array.to_pylist())
        return _arrow_text(array, kind, decimal)
    if pa.types.is_decimal(kind_of):
        array = pc.cast(array, pa.float64())
    if pa.types.is_integer(kind_of) and array.null_count == 0:
        return array.to_numpy()
    return array.to_numpy(zero_copy_only=False)


def _categorical(array: Any) -> Any:
    """A dictionary-encoded string array as a pandas Categorical Series (decoded by its few
    categories), or an object array without pandas."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with the cohort extra
        return _objects(array.to_pylist())
    indices = array.indices.to_numpy(zero_copy_only=False)
    codes = np.where(array.is_null().to_numpy(zero_copy_only=False), -1, indices).astype(np.intp)
    categories = array.dictionary.to_pylist()
    if len(set(categories)) != len(categories):  # a dictionary repeating a value
        return _objects(array.to_pylist())
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories))


def _arrow_text(array: Any, kind: Kind, decimal: str) -> Any:
    """Number or flag cells given as text (the CSV reader's slow path, Parquet text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(array)
    missing = pc.or_kleene(pc.is_null(trimmed), pc.is_in(trimmed, pa.array(["", *MISSING_TOKENS])))
    if kind == "flag":
        words = list(FLAG_WORDS)
        index = pc.index_in(pc.utf8_lower(trimmed), pa.array(words))
        meaning = np.array([FLAG_WORDS[w] for w in words] + [False])
        codes = index.fill_null(len(words)).to_numpy(zero_copy_only=False)
        values = meaning[codes]
        bad = (codes == len(words)) & ~missing.to_numpy(zero_copy_only=False)
        if not bad.any() and not missing.to_numpy(zero_copy_only=False).any():
            return values
        out = _objects(values.tolist())
        out[missing.to_numpy(zero_copy_only=False)] = None
        out[bad] = np.asarray(array.to_pylist(), dtype=object)[bad]
        return out
    text = trimmed
    wrong_mark = None
    if decimal == ",":
        wrong_mark = pc.match_substring(text, ".")
        text = pc.replace_substring(text, ",", ".")
    numeral = pc.match_substring_regex(text, f"^{NUMBER}$")
    if wrong_mark is not None:
        numeral = pc.and_kleene(numeral, pc.invert(wrong_mark))
    good = pc.and_kleene(numeral, pc.invert(missing)).fill_null(False)
    values = pc.cast(pc.if_else(good, text, pa.scalar(None, pa.string())), pa.float64())
    numbers = values.to_numpy(zero_copy_only=False)
    bad = ~good.to_numpy(zero_copy_only=False) & ~missing.fill_null(True).to_numpy(
        zero_copy_only=False
    )
    if not bad.any():
        return numbers
    out = _objects(numbers.tolist())
    out[bad] = np.asarray(array.to_pylist(), dtype=object)[bad]
    return out


@dataclass
class _ReadState:
    """How far a reader has got: rows given, and bytes read (CSV)."""

    done: int = 0
    position: int = 0
    stream: Any = None


def _float_words(batch: Any) -> bool:
    """Whether pyarrow's number parser read a word as a number in ``batch``: ``inf``,
    ``Infinity``, ``NAN``, ``-nan``... are floats to it, but not decimal numerals (and only
    the listed :data:`MISSING_TOKENS` mean missing), so the batch is read again as text and
    those cells are reported, as the standard-library reader does."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return any(
        pa.types.is_floating(column.type)
        and column.null_count < len(column)
        and pc.any(pc.invert(pc.is_finite(column))).as_py()
        for column in batch.columns
    )


def _arrow_csv(
    path: str,
    header: list[str],
    kinds: Mapping[str, Kind],
    id_column: str | None,
    delimiter: str,
    decimal: str,
    block_bytes: int,
) -> Cohort:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    wanted = [n for n in header if n in kinds or n == id_column]
    state = _ReadState()

    def reader(typed: bool) -> Any:
        column_types: dict[str, Any] = {}
        for name in wanted:
            kind = "text" if name == id_column else kinds[name]
            if kind == "category":
                column_types[name] = pa.dictionary(pa.int32(), pa.string())
            elif typed and kind == "number":
                column_types[name] = pa.float64()
            elif typed and kind == "flag":
                column_types[name] = pa.bool_()
            else:
                column_types[name] = pa.string()
        convert = pacsv.ConvertOptions(
            include_columns=wanted,
            column_types=column_types,
            null_values=["", *MISSING_TOKENS],
            strings_can_be_null=True,
            true_values=[w for w, v in FLAG_WORDS.items() if v] + ["True", "TRUE"],
            false_values=[w for w, v in FLAG_WORDS.items() if not v] + ["False", "FALSE"],
            decimal_point=decimal,
        )
        stream = pa.input_stream(path)
        state.stream = stream
        return pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=block_bytes, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=convert,
        )

    def batches() -> Iterator[Any]:
        typed = True
        skip = 0
        while True:
            try:
                for batch in reader(typed):
                    if typed and _float_words(batch):
                        raise pa.ArrowInvalid("conversion error: a number word (inf, NAN)")
                    if skip:  # rows already given before the switch to text columns
                        if batch.num_rows <= skip:
                            skip -= batch.num_rows
                            continue
                        batch = batch.slice(skip)
                        skip = 0
                    yield batch
                return
            except pa.ArrowInvalid as exc:
                if typed and "conversion error" in str(exc):
                    typed, skip = False, state.done  # a cell that is not a number/flag:
                    continue  # read those columns as text and report the rows
                raise _arrow_error(path, exc, header, delimiter) from None
            except pa.ArrowException as exc:
                raise _arrow_error(path, exc, header, delimiter) from None

    def chunks() -> Iterator[Chunk]:
        for batch in batches():
            columns = {
                name: _arrow_column(batch.column(name), kinds[name], decimal)
                for name in batch.schema.names
                if name in kinds and name != id_column
            }
            ids = batch.column(id_column) if id_column is not None else None
            start = state.done
            state.done += batch.num_rows
            with contextlib.suppress(Exception):  # a closed stream: keep the last position
                state.position = state.stream.tell() if state.stream is not None else 0
            yield Chunk(start, batch.num_rows, columns, ids)

    return Cohort(
        path,
        "csv",
        [n for n in wanted if n in kinds and n != id_column],
        _read_ahead(chunks()),
        os.path.getsize(path),
        "B",
        lambda: state.position,
        fast=True,
    )


def _parquet(
    path: str,
    kinds: Mapping[str, Kind],
    id_column: str | None,
    decimal: str,
    chunk_rows: int,
) -> Cohort:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        present = set(pq.read_schema(path).names)
        # text categories read as dictionaries (as Parquet stores them): no re-encoding; only
        # the columns the file has (pyarrow raises a bare KeyError for another)
        categories = [n for n, kind in kinds.items() if kind == "category" and n in present]
        file = pq.ParquetFile(path, read_dictionary=categories)
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from None
    names = file.schema_arrow.names
    if len(set(names)) != len(names):
        raise InputFileError(f"{path}: a column name appears twice")
    if id_column is not None and id_column not in names:
        raise InputFileError(f"{path}: no id column {id_column!r}; the columns are {names}")
    wanted = [n for n in names if n in kinds or n == id_column]
    state = _ReadState()

    def chunks() -> Iterator[Chunk]:
        try:
            for batch in file.iter_batches(batch_size=chunk_rows, columns=wanted):
                columns = {
                    name: _arrow_column(batch.column(name), kinds[name], decimal)
                    for name in wanted
                    if name in kinds and name != id_column
                }
                ids = batch.column(id_column) if id_column is not None else None
                start = state.done
                state.done += batch.num_rows
                yield Chunk(start, batch.num_rows, columns, ids)
        except (pa.ArrowException, OSError) as exc:
            raise InputFileError(f"{path}: cannot read the Parquet data ({exc})") from None

    return Cohort(
        path,
        "parquet",
        [n for n in wanted if n in kinds and n != id_column],
        _read_ahead(chunks()),
        file.metadata.num_rows,
        "rows",
        lambda: state.done,
        fast=True,
        id_type=None if id_column is None else file.schema_arrow.field(id_column).type,
    )


def _read_ahead(chunks: Iterator[Chunk], depth: int = READ_AHEAD) -> Iterator[Chunk]:
    """The chunks of ``chunks``, read by a background thread up to ``depth`` chunks ahead of
    the consumer: memory holds at most ``depth + 1`` chunks more than before (those queued,
    and the one the thread holds while it waits for room).

    pyarrow parses and converts with the GIL released, so on two cores the next chunk is
    read while the consumer scores and writes this one. Nothing else changes: the chunks
    come in order, an error of the reader is raised to the consumer in its place (after the
    chunks read before it), and a consumer that stops early (an error while scoring) stops
    the thread, which then closes the reader.
    """
    if depth < 1:
        raise ValueError(f"depth={depth}: read at least one chunk ahead")
    handoff: queue.Queue[tuple[Chunk | None, BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()

    def give(item: tuple[Chunk | None, BaseException | None]) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                handoff.put(item, timeout=0.05)
                return True
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not give((chunk, None)):
                    return
            give((None, None))
        except BaseException as exc:  # handed to the consumer, raised there
            give((None, exc))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=read, name="cvrisk-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            chunk, error = handoff.get()
            if error is not None:
                raise error
            if chunk is None:
                return
            yield chunk
    finally:
        stop.set()
        thread.join()


# -- output -------------------------------------------------------------------------------------


def _arrow_ids(ids: Any) -> Any:
    """Ids (or row numbers) as a pyarrow array."""
    import pyarrow as pa

    if isinstance(ids, np.ndarray):
        return pa.array(ids.tolist()) if ids.dtype == object else pa.array(ids)
    return ids


def _risk_digits(risk: np.ndarray[Any, Any]) -> tuple[Any, Any, Any]:
    """Each risk to 6 decimals as (whole part, millionths, valid): the digits of the CSV's
    risk column, the same with or without pyarrow."""
    valid = ~np.isnan(risk)
    micro = np.rint(np.where(valid, risk, 0.0) * 1e6).astype(np.int64)
    return micro // 1_000_000, micro % 1_000_000, valid


def _arrow_csv_rows(
    ids: Any, risk: np.ndarray[Any, Any], problems: Any, delimiter: str, decimal: str
) -> str:
    """CSV rows (id, risk to 6 decimals, problems), built by pyarrow column-wise; fields are
    quoted only when they hold the delimiter, a quote or a line break (as Python's csv)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def field(values: Any) -> Any:
        if pa.types.is_integer(values.type) and not delimiter.isdigit():
            return pc.cast(values, pa.string())  # row numbers: nothing to quote
        text = pc.cast(values, pa.string())
        special = pc.match_substring_regex(text, "[" + re.escape(delimiter) + '"\r\n]')
        if not pc.any(special).as_py():  # the common case: no field needs quotes
            return text.fill_null("")
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        return pc.if_else(special.fill_null(False), quoted, text).fill_null("")

    whole, fraction, valid = _risk_digits(risk)
    digits = pc.binary_join_element_wise(
        pc.cast(pa.array(whole), pa.string()),
        pc.utf8_lpad(pc.cast(pa.array(fraction), pa.string()), 6, "0"),
        decimal,
    )
    risk_text = pc.if_else(pa.array(valid), digits, "")
    fields = [field(_arrow_ids(ids)), risk_text]
    if problems is not None:
        fields.append(field(pa.array(list(problems), type=pa.string())))
    # "id,risk,problems" + "\n" + "" per row: the text of the rows, back to back
    lines = pc.binary_join_element_wise(
        pc.binary_join_element_wise(*fields, delimiter), pa.scalar(""), "\n"
    )
    if len(lines) == 0:
        return ""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return bytes(memoryview(lines.buffers()[2])[first:last]).decode("utf-8")


class Output:
    """Where the risks go: CSV (a file or a text stream) or Parquet, one chunk at a time.

    A file is written under a temporary name and renamed when :meth:`close` succeeds, so a
    failed run leaves no partial output file.
    """

    def __init__(
        self,
        path: str | None,
        stream: TextIO | None,
        *,
        id_column: str | None,
        risk_column: str,
        reasons: bool,
        delimiter: str,
        decimal: str,
        id_type: Any = None,
    ) -> None:
        self.path = path
        self.parquet = path is not None and _is_parquet(path)
        self.id_type = id_type  # the id column's pyarrow type, for a file without rows
        self.id_given = id_column is not None
        self.id_column = id_column or "row"
        self.risk_column = risk_column
        self.reasons = reasons
        self.delimiter = delimiter
        self.decimal = decimal
        self.partial = f"{path}.partial" if path is not None else None
        self._writer: Any = None
        self._handle: TextIO | None = None
        self._stream = stream
        if self.parquet and not has_pyarrow():
            raise InputFileError(f"{path}: writing Parquet needs pyarrow; {FAST_PATH_HINT}")
        if path is not None and not path.strip():
            raise InputFileError("-o '': give the output file's name, such as 'risks.csv'")
        if path is not None and (path.endswith(("/", os.sep)) or Path(path).is_dir()):
            raise InputFileError(
                f"{path}: a directory; give the output file's name, such as "
                f"{os.path.join(path, 'risks.csv')!r}"
            )
        if self.partial is not None and not Path(self.partial).parent.is_dir():
            folder = str(Path(self.partial).parent)
            raise InputFileError(f"{path}: no such directory {folder!r}")
        self._header_written = False

    def open(self) -> None:
        """Create the output file (under its temporary name). Called inside the ``try`` whose
        ``finally`` calls :meth:`close`, so that nothing, not even Ctrl-C, can leave it."""
        if self.partial is not None and not self.parquet:
            try:
                self._handle = open(self.partial, "w", encoding="utf-8", newline="")  # noqa: SIM115
            except OSError as exc:
                raise InputFileError(
                    f"{self.path}: cannot be written ({exc.strerror or exc})"
                ) from None
        if not self.parquet:
            out = self._handle or self._stream or sys.stdout
            self._csv = csv.writer(out, delimiter=self.delimiter, lineterminator="\n")

    def _header(self) -> None:
        """The CSV header, written with the first rows (a run failing on its first chunk
        writes nothing to standard output)."""
        if not self._header_written and not self.parquet:
            header = [self.id_column, self.risk_column] + (["problems"] if self.reasons else [])
            self._csv.writerow(header)
        self._header_written = True

    def write(self, chunk: Chunk, risk: np.ndarray[Any, Any], problems: Any) -> None:
        """The rows of ``chunk``: id (or row number), risk (empty if invalid), problems."""
        ids = (
            chunk.ids if chunk.ids is not None else np.arange(chunk.start, chunk.start + chunk.rows)
        )
        if self.parquet:
            self._write_parquet(ids, risk, problems)
            return
        self._header()
        out = self._handle or self._stream or sys.stdout
        if has_pyarrow():
            out.write(_arrow_csv_rows(ids, risk, problems, self.delimiter, self.decimal))
            return
        whole, fraction, valid = _risk_digits(risk)
        mark = self.decimal
        texts = [
            f"{w}{mark}{f:06d}" if ok else ""
            for w, f, ok in zip(whole.tolist(), fraction.tolist(), valid.tolist(), strict=True)
        ]
        columns: list[Any] = [list(ids), texts]
        if problems is not None:
            columns.append(["" if p is None else p for p in problems])
        self._csv.writerows(zip(*columns, strict=True))

    def _write_parquet(self, ids: Any, risk: np.ndarray[Any, Any], problems: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {
            self.id_column: _arrow_ids(ids),
            self.risk_column: pa.array(risk, from_pandas=True),
        }
        if self.reasons:
            columns["problems"] = pa.array(list(problems), type=pa.string())
        table = pa.table(columns)
        if self._writer is None:
            assert self.partial is not None
            try:
                # ids are mostly distinct: no dictionary encoding (it costs and saves nothing)
                self._writer = pq.ParquetWriter(
                    self.partial, table.schema, use_dictionary=["problems"]
                )
            except (pa.ArrowException, OSError) as exc:
                raise InputFileError(f"{self.path}: cannot be written ({exc})") from None
        elif table.schema != self._writer.schema:  # e.g. ids all null in a chunk
            table = table.cast(self._writer.schema)
        self._writer.write_table(table)

    def close(self, success: bool) -> None:
        """Finish the output: rename the file into place, or remove it after a failure."""
        if self._writer is not None:
            self._writer.close()
        if self.parquet and self._writer is None and success and self.partial is not None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            ids = self.id_type  # CSV ids are text; without an id column, row numbers
            if ids is None:
                ids = pa.string() if self.id_given else pa.int64()
            schema = pa.schema(
                [(self.id_column, ids), (self.risk_column, pa.float64())]
                + ([("problems", pa.string())] if self.reasons else [])
            )
            pq.write_table(schema.empty_table(), self.partial)
        if success:
            self._header()  # a file without rows still gets its header
        if self._handle is not None:
            self._handle.close()
        if self.partial is None:
            return
        if success:
            try:
                os.replace(self.partial, str(self.path))
            except OSError as exc:  # e.g. the path became a directory meanwhile
                with contextlib.suppress(OSError):
                    os.unlink(self.partial)
                raise InputFileError(
                    f"{self.path}: cannot be written ({exc.strerror or exc})"
                ) from None
        else:
            with contextlib.suppress(OSError):
                os.unlink(self.partial)
