using System.Buffers.Binary;
using System.IO.Compression;

namespace MemoryLab.Reporting.Charts;

/// <summary>
/// Minimal PNG writer (8-bit RGB, no filtering, zlib-compressed) so large heatmaps embed as one image
/// instead of thousands of SVG rectangles (PNG spec, ISO/IEC 15948).
/// </summary>
internal static class PngEncoder
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Encodes <paramref name="pixels"/> [row, column] (row 0 at the top) as PNG bytes.</summary>
    public static byte[] Encode(Rgb[,] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        int h = pixels.GetLength(0), w = pixels.GetLength(1);
        if (w == 0 || h == 0) throw new ArgumentException("image must have at least one pixel", nameof(pixels));
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0), w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = 8; ihdr[9] = 2; // bit depth 8, colour type RGB
        Chunk(ms, "IHDR", ihdr);
        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            {
                var row = new byte[1 + 3 * w];
                for (int r = 0; r < h; r++)
                {
                    row[0] = 0; // filter: none
                    for (int c = 0; c < w; c++)
                    {
                        var p = pixels[r, c];
                        row[1 + 3 * c] = p.R; row[2 + 3 * c] = p.G; row[3 + 3 * c] = p.B;
                    }
                    z.Write(row);
                }
            }
            Chunk(ms, "IDAT", raw.ToArray());
        }
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in typeBytes) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        foreach (byte b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        BinaryPrimitives.WriteUInt32BigEndian(len, crc ^ 0xFFFFFFFFu);
        s.Write(len);
    }

    private static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }
}
