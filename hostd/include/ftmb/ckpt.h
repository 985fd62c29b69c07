/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The checkpoint stream: patched QEMU (qemu-patches/, migration/ftmb.c) to
 * hostd, over the file descriptor given to the QMP command x-ftmb-start.
 * QEMU cannot include this header; its FTMB_CKPT_* values are copies that
 * tests/qemu/check-format.sh compares with these.
 *
 * The stream is a sequence of frames. Each is a 48-byte header, little-endian:
 *
 *    0 u32 magic     FTMB_CKPT_MAGIC ("FTCK")
 *    4 u16 version   FTMB_CKPT_VERSION
 *    6 u16 type      FTMB_CKPT_HELLO or FTMB_CKPT_CHECKPOINT
 *    8 u32 flags     FTMB_CKPT_FLAG_FULL on the first checkpoint, else 0
 *   12 u32 body_crc  CRC32C of the body (ram part, then dev part)
 *   16 u64 seq       0 for HELLO; checkpoints count 1, 2, 3, ...
 *   24 u64 ram_len   length of the body's first part
 *   32 u64 dev_len   length of the body's second part (0 for HELLO)
 *   40 u32 reserved  zero
 *   44 u32 hdr_crc   CRC32C of header bytes 0..43
 *
 * followed by a body of ram_len + dev_len bytes.
 *
 * HELLO (first frame, once): the VM's layout, little-endian.
 *   u32 page_size | u16 n_blocks | u8 machine_len | u8 0 | machine type name
 *   (e.g. "pc-i440fx-7.2") | n_blocks x { u8 id_len | idstr | u64 used_length }
 *   The blocks are QEMU's migratable RAMBlocks, in QEMU's order.
 *
 * CHECKPOINT: the VM as it was at one pause.
 *   ram part: QEMU's precopy RAM page records (migration/ram.c), big-endian:
 *     be64 (offset within the block | flags), then, unless flags has
 *     CONTINUE, u8 id_len | idstr naming the block; then one fill byte for
 *     ZERO (the page is filled with it) or page_size bytes for PAGE. CONTINUE
 *     means "the block of the previous record"; the first record of a frame
 *     always names its block. The part ends with a be64 EOS record.
 *     The first checkpoint (FLAG_FULL) holds every page of every block; each
 *     later one the pages written since the previous pause.
 *   dev part: the device state, as QEMU's qemu_save_device_state() writes
 *     it: be32 "QEVM" | be32 3 | FULL sections | 0x00 (EOF). Opaque to ftmb,
 *     except that restore strips its 8-byte header.
 *
 * A receiver applies a checkpoint only when the whole frame has arrived and
 * both CRCs and every record check out; anything else ends the stream.
 */
#ifndef FTMB_CKPT_H
#define FTMB_CKPT_H

#define FTMB_CKPT_MAGIC             0x4b435446u /* "FTCK" */
#define FTMB_CKPT_VERSION           1u
#define FTMB_CKPT_HDR_LEN           48u
#define FTMB_CKPT_HELLO             1u
#define FTMB_CKPT_CHECKPOINT        2u
#define FTMB_CKPT_FLAG_FULL         1u
#define FTMB_CKPT_MAX_BLOCKS        64u

/* Receiver limits: anything larger is refused as absurd. */
#define FTMB_CKPT_MAX_BLOCK_LEN     (1ull << 40) /* one RAM block */
#define FTMB_CKPT_MAX_DEV_LEN       (64u << 20)  /* device state */
#define FTMB_CKPT_MAX_HELLO_LEN     (8u + 255u + FTMB_CKPT_MAX_BLOCKS * (1u + 255u + 8u))

/* QEMU's RAM record flags (the low bits of each record's be64). */
#define FTMB_CKPT_RAM_ZERO          0x02u
#define FTMB_CKPT_RAM_PAGE          0x08u
#define FTMB_CKPT_RAM_EOS           0x10u
#define FTMB_CKPT_RAM_CONTINUE      0x20u

/* The device part's header, as QEMU writes it. */
#define FTMB_CKPT_DEV_MAGIC         0x5145564du /* "QEVM", big-endian */
#define FTMB_CKPT_DEV_VERSION       3u

#endif
