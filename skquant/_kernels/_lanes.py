"""Four lanes of float64 and int64 in one machine vector, for compiled kernels.

numba compiles scalar code; its loops run in vector lanes only when LLVM
can prove them independent, which a pixel loop whose every step waits for
the previous one (error diffusion) never is. Four such loops side by side,
one per lane (four bands of rows of an image), are independent: written
with the types here they become AVX2 instructions that advance all four at
once, with the same arithmetic, lane by lane, as the scalar code.

Types (numba types, LLVM vectors in the machine code):

- :data:`f4`: four float64; ``+ - * /`` lane by lane, IEEE-rounded as
  the scalar operations (no fused multiply-add: LLVM does not contract
  without fast-math), so a lane gives the scalar code's bits;
- :data:`i4`: four int64; ``+ - *``;
- :data:`m4`: four booleans, the result of comparing two ``f4`` or two
  ``i4`` (``<``, ``<=``, ``>``, ``>=``, ``==``); ``&``, ``|`` and ``~``.

Functions (compiled code only): :func:`splat` (a scalar in every lane),
:func:`lane` and :func:`with_lane` (read or replace one lane),
:func:`select` (lane by lane ``a if m else b``), :func:`no_lane`, :func:`vmin`,
:func:`vmax`, :func:`vsqrt`, :func:`vtrunc`, :func:`any_lane`, :func:`to_i4`
(truncation), :func:`to_f4`, :func:`load`, :func:`store` (four consecutive float64 of a
contiguous array), :func:`gather` (one element of a contiguous array
per lane, at ``index * stride + offset``), :func:`rows4` and
:func:`rows4_at` (a row of four float64 per lane, by index or by offset),
:func:`cubic_rows` and :func:`cubic_octaves` (a piecewise cubic from a
table of coefficients, on equal or octave-spaced segments; the scalar code
finds the latter with :func:`octave_segment`).

Nothing here checks bounds: the callers' Python side checks shapes, dtypes
and index ranges before their kernel runs (see :mod:`skquant._kernels._checks`).
"""

import operator

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

#: Lanes of a vector.
LANES = 4


class _Vector(types.Type):
    def __init__(self, name):
        super().__init__(name=name)


#: Four float64.
f4 = _Vector("f4")
#: Four int64.
i4 = _Vector("i4")
#: Four booleans.
m4 = _Vector("m4")

_F = ir.VectorType(ir.DoubleType(), LANES)
_I = ir.VectorType(ir.IntType(64), LANES)
_M = ir.VectorType(ir.IntType(1), LANES)
_LLVM = {f4: _F, i4: _I, m4: _M}


@register_model(_Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _LLVM[fe_type])


def _i32(value):
    return ir.Constant(ir.IntType(32), value)


def _broadcast(builder, value, vector_type):
    undef = ir.Constant(vector_type, ir.Undefined)
    one = builder.insert_element(undef, value, _i32(0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
    return builder.shuffle_vector(one, undef, zeros)


@intrinsic
def splat(typingctx, x):
    """``x`` in every lane: ``f4`` for a float, ``i4`` for an integer."""
    if isinstance(x, types.Float):
        vector, scalar = f4, types.float64
    elif isinstance(x, types.Integer):
        vector, scalar = i4, types.int64
    else:
        return None

    def codegen(context, builder, sig, args):
        value = context.cast(builder, args[0], sig.args[0], scalar)
        return _broadcast(builder, value, _LLVM[vector])

    return vector(x), codegen


_SCALAR = {f4: types.float64, i4: types.int64, m4: types.boolean}


@intrinsic
def lane(typingctx, v, index):
    """Lane ``index`` of ``v`` as a scalar."""
    if v not in _SCALAR or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        at = context.cast(builder, args[1], sig.args[1], types.int64)
        return builder.extract_element(args[0], at)

    return _SCALAR[v](v, index), codegen


@intrinsic
def with_lane(typingctx, v, index, x):
    """``v`` with lane ``index`` replaced by ``x``."""
    if v not in (f4, i4) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        at = context.cast(builder, args[1], sig.args[1], types.int64)
        value = context.cast(builder, args[2], sig.args[2], _SCALAR[v])
        return builder.insert_element(args[0], value, at)

    return v(v, index, x), codegen


def _binary(vector, instruction):
    @intrinsic
    def op(typingctx, a, b):
        if a != vector or b != vector:
            return None

        def codegen(context, builder, sig, args):
            return getattr(builder, instruction)(args[0], args[1])

        return vector(a, b), codegen

    return op


def _overload_binary(python_op, ops):
    """``python_op`` on two vectors of a type in ``ops`` (type -> intrinsic)."""

    @overload(python_op)
    def _typed(a, b):
        if a == b and a in ops:
            op = ops[a]
            return lambda a, b: op(a, b)
        return None


_overload_binary(operator.add, {f4: _binary(f4, "fadd"), i4: _binary(i4, "add")})
_overload_binary(operator.sub, {f4: _binary(f4, "fsub"), i4: _binary(i4, "sub")})
_overload_binary(operator.mul, {f4: _binary(f4, "fmul"), i4: _binary(i4, "mul")})
_overload_binary(operator.truediv, {f4: _binary(f4, "fdiv")})
_overload_binary(operator.and_, {m4: _binary(m4, "and_")})
_overload_binary(operator.or_, {m4: _binary(m4, "or_")})


def _comparison(predicate):
    @intrinsic
    def op(typingctx, a, b):
        if a != b or a not in (f4, i4):
            return None

        def codegen(context, builder, sig, args):
            if sig.args[0] == f4:  # ordered: false where either is NaN
                return builder.fcmp_ordered(predicate, args[0], args[1])
            return builder.icmp_signed(predicate, args[0], args[1])

        return m4(a, b), codegen

    return op


for _op, _predicate in (
    (operator.lt, "<"),
    (operator.le, "<="),
    (operator.gt, ">"),
    (operator.ge, ">="),
    (operator.eq, "=="),
):
    _overload_binary(_op, {f4: _comparison(_predicate), i4: _comparison(_predicate)})


@intrinsic
def _invert(typingctx, m):
    if m != m4:
        return None

    def codegen(context, builder, sig, args):
        return builder.xor(args[0], ir.Constant(_M, [1] * LANES))

    return m4(m), codegen


@overload(operator.invert)
def _invert_typed(m):
    if m == m4:
        return lambda m: _invert(m)
    return None


@intrinsic
def select(typingctx, m, a, b):
    """Lane by lane, ``a`` where ``m`` is true, else ``b``."""
    if m != m4 or a != b or a not in (f4, i4):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(args[0], args[1], args[2])

    return a(m, a, b), codegen


@intrinsic
def any_lane(typingctx, m):
    """Whether any lane of ``m`` is true."""
    if m != m4:
        return None

    def codegen(context, builder, sig, args):
        bits = builder.bitcast(args[0], ir.IntType(LANES))
        return builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(LANES), 0))

    return types.boolean(m), codegen


@intrinsic
def no_lane(typingctx):
    """An ``m4`` with every lane false."""

    def codegen(context, builder, sig, args):
        return ir.Constant(_M, [0] * LANES)

    return m4(), codegen


_I32 = ir.VectorType(ir.IntType(32), LANES)


def _truncate(builder, v):
    """``fptosi`` through four int32 (one ``vcvttpd2dq``: AVX2 has no
    packed conversion to int64, which LLVM does lane by lane)."""
    return builder.sext(builder.fptosi(v, _I32), _I)


@intrinsic
def to_i4(typingctx, v):
    """Each lane of a ``f4`` truncated to an integer (as ``np.int64(x)``),
    for lanes within the int32 range (indices; beyond, undefined)."""
    if v != f4:
        return None

    def codegen(context, builder, sig, args):
        return _truncate(builder, args[0])

    return i4(v), codegen


@intrinsic
def to_f4(typingctx, v):
    """Each lane of an ``i4`` as a float64, for lanes within the int32
    range (one packed conversion, as :func:`to_i4`)."""
    if v != i4:
        return None

    def codegen(context, builder, sig, args):
        return builder.sitofp(builder.trunc(args[0], _I32), _F)

    return f4(v), codegen


def _unary(name):
    """The LLVM intrinsic ``llvm.<name>`` on each lane of a ``f4``."""

    @intrinsic
    def op(typingctx, v):
        if v != f4:
            return None

        def codegen(context, builder, sig, args):
            function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(_F, [_F]), f"llvm.{name}.v{LANES}f64"
            )
            return builder.call(function, [args[0]])

        return f4(v), codegen

    return op


#: Each lane of a ``f4`` rounded towards zero, as a float64.
vtrunc = _unary("trunc")
#: Square root of each lane (correctly rounded, as ``math.sqrt``).
vsqrt = _unary("sqrt")


def _extremum(predicate):
    @intrinsic
    def op(typingctx, a, b):
        if a != b or a not in (f4, i4):
            return None

        def codegen(context, builder, sig, args):
            if sig.args[0] == f4:
                beyond = builder.fcmp_ordered(predicate, args[1], args[0])
            else:
                beyond = builder.icmp_signed(predicate, args[1], args[0])
            return builder.select(beyond, args[1], args[0])

        return a(a, b), codegen

    return op


#: Lane by lane ``min(a, b)``: ``b`` where it is below ``a``, else ``a``.
vmin = _extremum("<")
#: Lane by lane ``max(a, b)``: ``b`` where it is above ``a``, else ``a``.
vmax = _extremum(">")


def _data(context, builder, array_type, array):
    return cgutils.create_struct_proxy(array_type)(context, builder, value=array).data


def _float64_array(array):
    return (
        isinstance(array, types.Array)
        and array.dtype == types.float64
        and array.is_c_contig
    )


def _table(table):
    """A ``(n, 4)`` float64 table: the C-contiguous array, or the address
    of its data (:func:`address`)."""
    return (_float64_array(table) and table.ndim == 2) or table == types.int64


def _table_data(context, builder, table_type, table):
    if table_type == types.int64:
        return builder.inttoptr(table, ir.DoubleType().as_pointer())
    return _data(context, builder, table_type, table)


@intrinsic
def address(typingctx, array):
    """The address of the data of a C-contiguous float64 array, as an
    int64: what the table functions here take in place of the array
    where a call to compiled code apart would otherwise count a reference
    to it (two atomic operations, per call, on the pixel loop). The caller
    keeps the array alive."""
    if not _float64_array(array):
        return None

    def codegen(context, builder, sig, args):
        data = _data(context, builder, sig.args[0], args[0])
        return builder.ptrtoint(data, ir.IntType(64))

    return types.int64(array), codegen


@intrinsic
def load(typingctx, array, index):
    """``array.flat[index : index + 4]`` of a C-contiguous float64 array."""
    if not _float64_array(array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        at = context.cast(builder, args[1], sig.args[1], types.int64)
        pointer = builder.gep(_data(context, builder, sig.args[0], args[0]), [at])
        return builder.load(builder.bitcast(pointer, _F.as_pointer()), align=8)

    return f4(array, index), codegen


@intrinsic
def store(typingctx, array, index, v):
    """``array.flat[index : index + 4] = v`` (C-contiguous float64 array)."""
    if not _float64_array(array) or not isinstance(index, types.Integer) or v != f4:
        return None

    def codegen(context, builder, sig, args):
        at = context.cast(builder, args[1], sig.args[1], types.int64)
        pointer = builder.gep(_data(context, builder, sig.args[0], args[0]), [at])
        builder.store(args[2], builder.bitcast(pointer, _F.as_pointer()), align=8)
        return context.get_dummy_value()

    return types.none(array, index, v), codegen


@intrinsic
def gather(typingctx, array, index, stride, offset, as_float):
    """``array.flat[index * stride + offset]`` for each lane of the ``i4``
    ``index``, as an ``f4`` (``as_float`` True: the element converted as
    ``np.float64(x)``) or an ``i4`` (False: as ``np.int64(x)``, floats
    truncated). ``array`` is C-contiguous, of any real dtype."""
    if not (
        isinstance(array, types.Array)
        and array.is_c_contig
        and isinstance(array.dtype, (types.Integer, types.Float))
        and index == i4
        and isinstance(as_float, types.BooleanLiteral)
    ):
        return None
    vector, scalar = (
        (f4, types.float64) if as_float.literal_value else (i4, types.int64)
    )

    def codegen(context, builder, sig, args):
        data = _data(context, builder, sig.args[0], args[0])
        step = context.cast(builder, args[2], sig.args[2], types.int64)
        first = context.cast(builder, args[3], sig.args[3], types.int64)
        out = ir.Constant(_LLVM[vector], ir.Undefined)
        for k in range(LANES):
            at = builder.extract_element(args[1], _i32(k))
            at = builder.add(builder.mul(at, step), first)
            value = builder.load(builder.gep(data, [at]))
            value = context.cast(builder, value, sig.args[0].dtype, scalar)
            out = builder.insert_element(out, value, _i32(k))
        return out

    return vector(array, index, stride, offset, as_float), codegen


def _part_bounds(context, builder, part, part_type):
    """``first`` (int32) and ``count - 1`` (float64) of ``part``, the tuple
    ``(first, count)``, as vectors. (The rows of a segment stay int32 up to
    the load: one 16-byte vector whose lanes are read without crossing
    halves, where int64 rows would take a sign extension to 32 bytes, an
    addition and a cross-half extraction on the way: 1-5 % of
    Floyd-Steinberg's time in the vector lanes.)"""
    first, count = (
        context.cast(builder, builder.extract_value(part, i), part_type[i], types.int64)
        for i in range(2)
    )
    one = ir.Constant(ir.IntType(64), 1)
    last = builder.sitofp(builder.sub(count, one), ir.DoubleType())
    first = builder.trunc(first, ir.IntType(32))
    return _broadcast(builder, first, _I32), _broadcast(builder, last, _F)


def _segment(builder, first, last, t):
    """Row ``first + k`` (int32) and ``f = t - k`` for ``k = min(int(t),
    last)`` (``t`` clamped to ``[0, last]`` first), lane by lane."""
    zero = ir.Constant(_F, [0.0] * LANES)
    inside = builder.select(builder.fcmp_ordered(">", t, zero), t, zero)
    inside = builder.select(builder.fcmp_ordered("<", inside, last), inside, last)
    k = builder.fptosi(inside, _I32)  # (see _truncate)
    f = builder.fsub(t, builder.sitofp(k, _F))
    return builder.add(k, first), f


def _rows(builder, data, row, scale=4):
    """The four columns of the rows ``row`` (``i4``, or int32 lanes) of a
    C-contiguous ``(n, 4)`` float64 table at ``data``: one 32-byte load
    per lane, then a 4 x 4 transpose (shuffles) rather than sixteen scalar
    loads.
    (``scale=1``: ``row`` holds the rows' offsets, four times their index.)"""
    loaded = []
    for k in range(LANES):
        at = builder.extract_element(row, _i32(k))
        if at.type != ir.IntType(64):  # int32 rows (a table's segments)
            at = builder.zext(at, ir.IntType(64))
        if scale != 1:
            at = builder.mul(at, _i64(scale))
        pointer = builder.bitcast(builder.gep(data, [at]), _F.as_pointer())
        loaded.append(builder.load(pointer, align=8))

    def shuffle(a, b, order):
        mask = ir.Constant(ir.VectorType(ir.IntType(32), LANES), order)
        return builder.shuffle_vector(a, b, mask)

    r0, r1, r2, r3 = loaded
    even01, odd01 = shuffle(r0, r1, [0, 4, 2, 6]), shuffle(r0, r1, [1, 5, 3, 7])
    even23, odd23 = shuffle(r2, r3, [0, 4, 2, 6]), shuffle(r2, r3, [1, 5, 3, 7])
    return (
        shuffle(even01, even23, [0, 1, 4, 5]),
        shuffle(odd01, odd23, [0, 1, 4, 5]),
        shuffle(even01, even23, [2, 3, 6, 7]),
        shuffle(odd01, odd23, [2, 3, 6, 7]),
    )


def _i64(value):
    return ir.Constant(ir.IntType(64), value)


def _cubic_at(builder, data, row, f):
    # (c0 f + c1) f^2 + (c2 f + c3): two products at once, where Horner's
    # rule waits for each (the pixel loop of error diffusion waits for it)
    c0, c1, c2, c3 = _rows(builder, data, row)
    high = builder.fadd(builder.fmul(c0, f), c1)
    low = builder.fadd(builder.fmul(c2, f), c3)
    return builder.fadd(builder.fmul(high, builder.fmul(f, f)), low)


def _part(part):
    return (
        isinstance(part, types.UniTuple)
        and part.count == 2
        and isinstance(part.dtype, types.Integer)
    )


@intrinsic
def rows4(typingctx, table, row):
    """The four columns (``f4`` each) of the rows ``row`` (``i4``) of a
    C-contiguous float64 table of shape ``(n, 4)``: one 32-byte load per
    lane, where :func:`gather` takes four per column."""
    if not (_table(table) and row == i4):
        return None

    def codegen(context, builder, sig, args):
        data = _table_data(context, builder, sig.args[0], args[0])
        columns = _rows(builder, data, args[1])
        return context.make_tuple(builder, sig.return_type, columns)

    return types.UniTuple(f4, LANES)(table, row), codegen


@intrinsic
def rows4_at(typingctx, table, at):
    """:func:`rows4` of the rows that start at ``at`` (``i4``, offsets in
    elements: four times the rows' indices), which spares a multiplication
    per lane where the offsets are stored."""
    if not (_table(table) and at == i4):
        return None

    def codegen(context, builder, sig, args):
        data = _table_data(context, builder, sig.args[0], args[0])
        columns = _rows(builder, data, args[1], scale=1)
        return context.make_tuple(builder, sig.return_type, columns)

    return types.UniTuple(f4, LANES)(table, at), codegen


@intrinsic
def cubic_rows(typingctx, table, part, t):
    """The piecewise cubic of ``table`` (float64, ``(n, 4)``, C-contiguous,
    coefficients highest first) on rows ``part = (first, count)``, at
    ``t`` (``f4``, segments of width 1 from 0), as
    :func:`skquant._kernels._fastconv._cubic` evaluates it: row
    ``first + min(int(t), count - 1)``, ``f = t - min(int(t), count - 1)``,
    ``(c0 f + c1) (f f) + (c2 f + c3)``. A lane below 0 (or NaN) reads row
    ``first``: its value is not the cubic's, for the caller to discard.
    One intrinsic rather than compiled code made of the other functions
    here: numba types and inlines it at no cost (a converter built of
    those took 10-30 s more to compile)."""
    if not (_table(table) and _part(part) and t == f4):
        return None

    def codegen(context, builder, sig, args):
        data = _table_data(context, builder, sig.args[0], args[0])
        first, last = _part_bounds(context, builder, args[1], sig.args[1])
        row, f = _segment(builder, first, last, args[2])
        return _cubic_at(builder, data, row, f)

    return f4(table, part, t), codegen


#: Segments per octave of the tables of :func:`cubic_octaves`, as a number
#: of the mantissa's leading bits: 64 segments per octave.
OCTAVE_BITS = 6
#: The shift that leaves a positive float64's segment (:func:`octave_segment`):
#: its exponent and leading :data:`OCTAVE_BITS` mantissa bits.
SEGMENT_SHIFT = 52 - OCTAVE_BITS


def _octave_segment(builder, x, vector):
    """:func:`octave_segment` in LLVM (``vector``: of an ``f4``)."""
    int_type = _I if vector else ir.IntType(64)
    float_type = _F if vector else ir.DoubleType()

    def constant(value):
        return ir.Constant(int_type, [value] * LANES if vector else value)

    bits = builder.bitcast(x, int_type)
    segment = builder.lshr(bits, constant(SEGMENT_SHIFT))
    start = builder.and_(bits, constant(-(1 << SEGMENT_SHIFT)))
    return segment, builder.fsub(x, builder.bitcast(start, float_type))


@intrinsic
def octave_segment(typingctx, x):
    """The segment of a positive float64 ``x`` (or of each lane of an ``f4``)
    on a scale of :data:`OCTAVE_BITS` equal segments per octave, and ``x``'s
    offset from that segment's start: its exponent and leading mantissa
    bits as an integer, and ``x`` minus ``x`` with the other bits cleared
    (exact). Octave-spaced segments follow a power or a cube root, which
    bend most near 0, where the uniform ones would need a second, finer
    range (and a choice between the two in every lane)."""
    if x == f4:
        vector, result = True, types.Tuple((i4, f4))
    elif x == types.float64:
        vector, result = False, types.Tuple((types.int64, types.float64))
    else:
        return None

    def codegen(context, builder, sig, args):
        segment, offset = _octave_segment(builder, args[0], vector)
        return context.make_tuple(builder, sig.return_type, (segment, offset))

    return result(x), codegen


def _octave_part(context, builder, part, part_type):
    """``part = (row of segment 0, lowest, highest)`` as vectors."""
    row, lowest, highest = (
        context.cast(builder, builder.extract_value(part, i), part_type[i], to)
        for i, to in enumerate((types.int64, types.float64, types.float64))
    )
    return (
        _broadcast(builder, row, _I),
        _broadcast(builder, lowest, _F),
        _broadcast(builder, highest, _F),
    )


@intrinsic
def cubic_octaves(typingctx, table, part, t):
    """The piecewise cubic of ``table`` (float64, ``(n, 4)``, C-contiguous,
    coefficients highest first) on octave-spaced segments, at ``t``
    (``f4``), as :func:`skquant._kernels._fastconv._cubic_octaves`
    evaluates it: with ``segment, u = octave_segment(t)``, row ``part[0] +
    segment``, ``(c0 u + c1) (u u) + (c2 u + c3)``. ``part`` is ``(row of
    segment 0, lowest, highest)``, the range of the table's rows: a lane
    outside it (or NaN) is clamped to it first, and its value is not the
    function's, for the caller to discard."""
    if not (
        _table(table)
        and isinstance(part, types.BaseTuple)
        and len(part) == 3
        and isinstance(part[0], types.Integer)
        and all(isinstance(p, types.Float) for p in part[1:])
        and t == f4
    ):
        return None

    def codegen(context, builder, sig, args):
        data = _table_data(context, builder, sig.args[0], args[0])
        row0, lowest, highest = _octave_part(context, builder, args[1], sig.args[1])
        x = args[2]
        x = builder.select(builder.fcmp_ordered(">", x, lowest), x, lowest)
        x = builder.select(builder.fcmp_ordered("<", x, highest), x, highest)
        segment, u = _octave_segment(builder, x, True)
        return _cubic_at(builder, data, builder.add(row0, segment), u)

    return f4(table, part, t), codegen
