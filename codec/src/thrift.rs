//! A reader of the Thrift compact protocol, for the walks that check what parquet would
//! otherwise trust: the footer (`decode::file_metadata`) and page headers
//! (the `pages` module). parquet does not expose its own, and its skip of an unknown field
//! is not bounded by the input (docs/FUZZING.md, finding 5): here a container's declared length
//! is held to the bytes left, so no input costs more than its size to walk.

/// The wire types of the Thrift compact protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Wire {
    True,
    False,
    Byte,
    I16,
    I32,
    I64,
    Double,
    Binary,
    List,
    Set,
    Map,
    Struct,
    Uuid,
}

impl Wire {
    pub(crate) fn of(nibble: u8) -> Result<Wire, String> {
        Ok(match nibble {
            1 => Wire::True,
            2 => Wire::False,
            3 => Wire::Byte,
            4 => Wire::I16,
            5 => Wire::I32,
            6 => Wire::I64,
            7 => Wire::Double,
            8 => Wire::Binary,
            9 => Wire::List,
            10 => Wire::Set,
            11 => Wire::Map,
            12 => Wire::Struct,
            13 => Wire::Uuid,
            other => return Err(format!("unknown wire type {other}")),
        })
    }
}

/// Nesting deeper than this is refused: parquet's own headers nest three structs deep.
const MAX_DEPTH: usize = 32;

/// A position in Thrift compact bytes.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at byte `at` of `bytes`.
    pub(crate) fn new(bytes: &'a [u8], at: usize) -> Self {
        Cursor {
            bytes,
            at,
            depth: 0,
        }
    }

    /// The byte the cursor is at.
    pub(crate) fn position(&self) -> usize {
        self.at
    }

    pub(crate) fn byte(&mut self) -> Result<u8, String> {
        let byte = *self.bytes.get(self.at).ok_or("it ends early")?;
        self.at += 1;
        Ok(byte)
    }

    fn advance(&mut self, n: u64) -> Result<(), String> {
        self.at = usize::try_from(n)
            .ok()
            .and_then(|n| self.at.checked_add(n))
            .filter(|&end| end <= self.bytes.len())
            .ok_or("it ends early")?;
        Ok(())
    }

    pub(crate) fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint longer than 64 bits".into())
    }

    pub(crate) fn read_i32(&mut self) -> Result<i32, String> {
        let zigzag = u32::try_from(self.varint()?).map_err(|_| "an i32 out of range")?;
        Ok((zigzag >> 1) as i32 ^ -((zigzag & 1) as i32))
    }

    /// Reads a struct's fields up to its stop byte, handing each id and wire type to `field`,
    /// which reads or skips the value.
    pub(crate) fn read_struct(
        &mut self,
        mut field: impl FnMut(&mut Self, i16, Wire) -> Result<(), String>,
    ) -> Result<(), String> {
        self.enter()?;
        let mut id: i16 = 0;
        loop {
            let head = self.byte()?;
            // A stop is a type of 0, whatever the other nibble holds: parquet reads it so, and
            // the walk must end each struct where parquet does.
            if head & 0x0f == 0 {
                break;
            }
            let delta = head >> 4;
            id = if delta == 0 {
                let zigzag =
                    u16::try_from(self.varint()?).map_err(|_| "a field id out of range")?;
                (zigzag >> 1) as i16 ^ -((zigzag & 1) as i16)
            } else {
                id.checked_add(i16::from(delta))
                    .ok_or("a field id out of range")?
            };
            field(self, id, Wire::of(head & 0x0f)?)?;
        }
        self.depth -= 1;
        Ok(())
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested more than {MAX_DEPTH} deep"));
        }
        Ok(())
    }

    /// Skips a value of type `wire`. A boolean field carries its value in its type; a boolean
    /// inside a list, set or map takes a byte. Each element takes at least a byte, so a
    /// declared count larger than what is left is refused before any is read.
    pub(crate) fn skip(&mut self, wire: Wire) -> Result<(), String> {
        match wire {
            Wire::True | Wire::False => Ok(()),
            Wire::Byte => self.advance(1),
            Wire::I16 | Wire::I32 | Wire::I64 => self.varint().map(drop),
            Wire::Double => self.advance(8),
            Wire::Uuid => self.advance(16),
            Wire::Binary => {
                let len = self.varint()?;
                self.advance(len)
            }
            Wire::Struct => self.read_struct(|cursor, _, wire| cursor.skip(wire)),
            Wire::List | Wire::Set => {
                let (count, element) = self.list_header()?;
                self.skip_elements(count, &[element])
            }
            Wire::Map => {
                let count = self.varint()?;
                if count == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                let (key, value) = (Wire::of(types >> 4)?, Wire::of(types & 0x0f)?);
                self.skip_elements(count, &[key, value])
            }
        }
    }

    /// Reads a list's or set's header: how many elements it declares, held to the bytes left,
    /// and their wire type.
    pub(crate) fn list_header(&mut self) -> Result<(u64, Wire), String> {
        let head = self.byte()?;
        let count = match head >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        self.fits(count)?;
        Ok((count, Wire::of(head & 0x0f)?))
    }

    /// Refuses a container of `count` elements that the bytes left cannot hold, each element
    /// taking at least a byte.
    fn fits(&self, count: u64) -> Result<(), String> {
        let left = (self.bytes.len() - self.at) as u64;
        if count > left {
            return Err(format!("{count} elements declared in {left} bytes"));
        }
        Ok(())
    }

    fn skip_elements(&mut self, count: u64, each: &[Wire]) -> Result<(), String> {
        self.fits(count)?;
        self.enter()?;
        for _ in 0..count {
            for &wire in each {
                match wire {
                    Wire::True | Wire::False => self.advance(1)?,
                    other => self.skip(other)?,
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }
}
