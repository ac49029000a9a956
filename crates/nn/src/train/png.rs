//! A small PNG encoder for RGB images (this crate has no image library): rows filtered as
//! PNG's encoders do, then deflated with fixed Huffman codes and runs of repeated bytes,
//! which shrinks a plot's flat background to almost nothing.

/// Encodes an 8-bit RGB image, `rgb` holding `width * height * 3` bytes row by row.
pub(crate) fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let stride = width as usize * 3;
    assert_eq!(
        rgb.len(),
        stride * height as usize,
        "RGB buffer of the wrong size"
    );
    let mut raw = Vec::with_capacity((stride + 1) * height as usize);
    let zeros = vec![0u8; stride];
    for (y, row) in rgb
        .chunks_exact(stride.max(1))
        .enumerate()
        .take(height as usize)
    {
        let above = if y == 0 {
            &zeros[..]
        } else {
            &rgb[(y - 1) * stride..y * stride]
        };
        filter_row(row, above, &mut raw);
    }
    let mut idat = vec![0x78, 0x01];
    idat.extend(deflate_fixed(&raw));
    idat.extend(adler32(&raw).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, adaptive filters, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Appends the filter byte and the filtered row, choosing among None, Sub and Up the filter
/// with the smallest sum of absolute values (the usual heuristic).
fn filter_row(row: &[u8], above: &[u8], out: &mut Vec<u8>) {
    let sub = |i: usize| row[i].wrapping_sub(if i >= 3 { row[i - 3] } else { 0 });
    let up = |i: usize| row[i].wrapping_sub(above[i]);
    let cost = |f: &dyn Fn(usize) -> u8| {
        (0..row.len())
            .map(|i| u64::from((f(i) as i8).unsigned_abs()))
            .sum::<u64>()
    };
    let none = |i: usize| row[i];
    let candidates: [(u8, &dyn Fn(usize) -> u8); 3] = [(0, &none), (1, &sub), (2, &up)];
    let (kind, f) = candidates
        .into_iter()
        .min_by_key(|(_, f)| cost(*f))
        .unwrap_or((0, &none));
    out.push(kind);
    out.extend((0..row.len()).map(f));
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend((data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend(kind);
    png.extend(data);
    let crc = crc32(&png[start..]);
    png.extend(crc.to_be_bytes());
}

/// Writes bits least significant first, as deflate packs them.
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter {
    fn bits(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.bits;
        self.bits += count;
        while self.bits >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    /// A Huffman code, which deflate stores most significant bit first.
    fn code(&mut self, code: u32, count: u32) {
        self.bits(code.reverse_bits() >> (32 - count), count);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.bits > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];

/// The fixed Huffman code of a literal/length symbol (RFC 1951, 3.2.6).
fn fixed_code(symbol: u32) -> (u32, u32) {
    match symbol {
        0..=143 => (0x30 + symbol, 8),
        144..=255 => (0x190 + symbol - 144, 9),
        256..=279 => (symbol - 256, 7),
        _ => (0xC0 + symbol - 280, 8),
    }
}

/// One final deflate block with fixed codes: literals, and runs of a repeated byte as
/// matches at distance 1.
fn deflate_fixed(data: &[u8]) -> Vec<u8> {
    let mut out = BitWriter {
        bytes: Vec::with_capacity(data.len() / 8 + 16),
        acc: 0,
        bits: 0,
    };
    out.bits(1, 1); // final block
    out.bits(1, 2); // fixed Huffman codes
    let mut i = 0;
    while i < data.len() {
        let run = if i > 0 {
            data[i..]
                .iter()
                .take(258)
                .take_while(|&&b| b == data[i - 1])
                .count()
        } else {
            0
        };
        if run >= 3 {
            let index = LENGTH_BASE
                .iter()
                .rposition(|&base| base as usize <= run)
                .unwrap_or(0);
            let (code, count) = fixed_code(257 + index as u32);
            out.code(code, count);
            out.bits(
                (run - LENGTH_BASE[index] as usize) as u32,
                u32::from(LENGTH_EXTRA[index]),
            );
            out.code(0, 5); // distance 1
            i += run;
        } else {
            let (code, count) = fixed_code(u32::from(data[i]));
            out.code(code, count);
            i += 1;
        }
    }
    let (code, count) = fixed_code(256);
    out.code(code, count);
    out.finish()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (n, entry) in table.iter_mut().enumerate() {
        let mut c = n as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *entry = c;
    }
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in bytes.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn checksums_match_their_reference_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    /// Reads bits least significant first.
    struct BitReader<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl BitReader<'_> {
        fn bit(&mut self) -> u32 {
            let bit = (self.bytes[self.pos / 8] >> (self.pos % 8)) & 1;
            self.pos += 1;
            u32::from(bit)
        }
        fn bits(&mut self, count: u32) -> u32 {
            (0..count).fold(0, |acc, i| acc | (self.bit() << i))
        }
        fn huffman(&mut self, count: u32) -> u32 {
            (0..count).fold(0, |acc, _| (acc << 1) | self.bit())
        }
    }

    /// Inflates one final fixed-Huffman block (all `deflate_fixed` writes), independently of
    /// the encoder's tables.
    fn inflate_fixed(bytes: &[u8]) -> Vec<u8> {
        let mut r = BitReader { bytes, pos: 0 };
        assert_eq!((r.bits(1), r.bits(2)), (1, 1), "one final fixed block");
        let mut out: Vec<u8> = Vec::new();
        loop {
            let mut code = r.huffman(7);
            let symbol = if code <= 0x17 {
                256 + code
            } else {
                code = (code << 1) | r.bit();
                match code {
                    0x30..=0xBF => code - 0x30,
                    0xC0..=0xC7 => 280 + code - 0xC0,
                    _ => 144 + ((code << 1) | r.bit()) - 0x190,
                }
            };
            match symbol {
                0..=255 => out.push(symbol as u8),
                256 => return out,
                _ => {
                    let index = (symbol - 257) as usize;
                    let length = LENGTH_BASE[index] as usize
                        + r.bits(u32::from(LENGTH_EXTRA[index])) as usize;
                    let distance_code = r.huffman(5);
                    assert!(distance_code < 4, "only short distances here");
                    let distance = distance_code as usize + 1;
                    for _ in 0..length {
                        out.push(out[out.len() - distance]);
                    }
                }
            }
        }
    }

    /// Decodes a PNG this encoder wrote, checking its structure, back to RGB bytes.
    pub(crate) fn decode_rgb(png: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut pos = 8;
        let (mut width, mut height, mut idat) = (0, 0, Vec::new());
        loop {
            let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
            let kind = &png[pos + 4..pos + 8];
            let data = &png[pos + 8..pos + 8 + len];
            let crc = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&png[pos + 4..pos + 8 + len]), "CRC of {kind:?}");
            pos += 12 + len;
            match kind {
                b"IHDR" => {
                    width = u32::from_be_bytes(data[..4].try_into().unwrap());
                    height = u32::from_be_bytes(data[4..8].try_into().unwrap());
                    assert_eq!(&data[8..], &[8, 2, 0, 0, 0]);
                }
                b"IDAT" => idat.extend_from_slice(data),
                b"IEND" => break,
                _ => panic!("unexpected chunk"),
            }
        }
        assert_eq!(pos, png.len());
        assert_eq!(
            u16::from_be_bytes([idat[0], idat[1]]) % 31,
            0,
            "zlib header check"
        );
        let raw = inflate_fixed(&idat[2..idat.len() - 4]);
        assert_eq!(
            u32::from_be_bytes(idat[idat.len() - 4..].try_into().unwrap()),
            adler32(&raw)
        );
        let stride = width as usize * 3;
        let mut rgb = vec![0u8; stride * height as usize];
        for y in 0..height as usize {
            let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
            for i in 0..stride {
                let left = if i >= 3 { rgb[y * stride + i - 3] } else { 0 };
                let up = if y > 0 { rgb[(y - 1) * stride + i] } else { 0 };
                rgb[y * stride + i] = match line[0] {
                    0 => line[1 + i],
                    1 => line[1 + i].wrapping_add(left),
                    2 => line[1 + i].wrapping_add(up),
                    other => panic!("filter {other}"),
                };
            }
        }
        (width, height, rgb)
    }

    #[test]
    fn an_image_round_trips_through_the_encoder() {
        let (width, height) = (37u32, 23u32);
        let mut rgb = vec![255u8; (width * height * 3) as usize];
        let mut state = 12345u32;
        for (i, byte) in rgb.iter_mut().enumerate() {
            if (i / 3) % 7 < 3 || i > 1500 && i < 2100 {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *byte = (state >> 16) as u8;
            }
        }
        let png = encode_rgb(width, height, &rgb);
        assert_eq!(decode_rgb(&png), (width, height, rgb));

        let blank = vec![255u8; 800 * 450 * 3];
        let png = encode_rgb(800, 450, &blank);
        assert!(
            png.len() < 20_000,
            "a flat image compresses: {} bytes",
            png.len()
        );
        assert_eq!(decode_rgb(&png).2, blank);
    }
}
