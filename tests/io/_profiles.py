"""ICC profiles for tests, built here (nothing downloaded): a wide-gamut
matrix/TRC RGB profile with the primaries and gamma of Adobe RGB (1998).

ImageCms.createProfile makes sRGB, Lab and XYZ profiles only; this writes
an ICC version 2 display profile byte by byte, from the chromaticities of
its primaries and white point, adapted to the D50 connection space with
the Bradford transform (ICC.1:2001-04, annex E; Lindbloom's tables)."""

import struct

import numpy as np

#: Adobe RGB (1998): primaries, white point (D65) and gamma 563/256.
ADOBE_PRIMARIES = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))
D65 = (0.3127, 0.3290)
D50_XYZ = np.array([0.9642, 1.0, 0.8249])
BRADFORD = np.array(
    [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ]
)


def _xyz(xy):
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def colorants(primaries=ADOBE_PRIMARIES, white=D65):
    """The D50-adapted XYZ of the red, green and blue colorants (columns)."""
    xyz = np.column_stack([_xyz(p) for p in primaries])
    white_xyz = _xyz(white)
    rgb_to_xyz = xyz * np.linalg.solve(xyz, white_xyz)
    cone_ratio = (BRADFORD @ D50_XYZ) / (BRADFORD @ white_xyz)
    adapt = np.linalg.inv(BRADFORD) @ np.diag(cone_ratio) @ BRADFORD
    return adapt @ rgb_to_xyz


def _s15f16(values):
    return b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _xyz_tag(values):
    return b"XYZ \0\0\0\0" + _s15f16(values)


def _desc_tag(text):
    ascii_text = text.encode("ascii") + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + struct.pack(">II", 0, 0)  # no Unicode description
        + struct.pack(">HB", 0, 0)
        + bytes(67)  # no ScriptCode description
    )


def matrix_profile(name, primaries=ADOBE_PRIMARIES, white=D65, gamma=563 / 256):
    """ICC bytes of an RGB display profile: 3 colorants and one gamma."""
    columns = colorants(primaries, white)
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = [
        (b"desc", _desc_tag(name)),
        (b"cprt", b"text\0\0\0\0" + b"No copyright, test profile\0"),
        (b"wtpt", _xyz_tag(D50_XYZ)),
        (b"rXYZ", _xyz_tag(columns[:, 0])),
        (b"gXYZ", _xyz_tag(columns[:, 1])),
        (b"bXYZ", _xyz_tag(columns[:, 2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = [], b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table.append(struct.pack(">4sII", signature, offset + len(data), len(body)))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(
            ">I4sI4s4s4s", size, b"\0\0\0\0", 0x02100000, b"mntr", b"RGB ", b"XYZ "
        )
        + struct.pack(">6H", 2026, 12, 2, 0, 0, 0)
        + b"acsp"
        + bytes(24)  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + _s15f16(D50_XYZ)
        + bytes(4 + 16 + 28)  # creator, profile id, reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(table) + data


#: A wide-gamut profile (Adobe RGB (1998) primaries and gamma).
WIDE_GAMUT = matrix_profile("skquant test wide-gamut RGB (Adobe RGB 1998 primaries)")
