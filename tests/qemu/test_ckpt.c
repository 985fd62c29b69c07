// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The checkpoint stream parser, the store and the restore stream, fed
 * frames built here the way patched QEMU writes them: whole, byte by byte,
 * in random pieces, truncated, mis-checksummed, out of range and absurd.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ckpt_parser.h"
#include "ckpt_restore.h"
#include "ckpt_store.h"
#include "ftmb/le.h"
#include "ftmb/repl.h"

#define PS 4096u
#define RAM_LEN (16 * PS)
#define ROM_LEN (2 * PS)

/* --- building frames ------------------------------------------------------ */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_le(struct buf *b, uint64_t v, int bytes)
{
	uint8_t le[8];

	ftmb_put_le64(le, v);
	put(b, le, (size_t)bytes);
}

static void put_be64(struct buf *b, uint64_t v)
{
	v = htobe64(v);
	put(b, &v, 8);
}

static void put_str8(struct buf *b, const char *s)
{
	put_u8(b, (uint8_t)strlen(s));
	put(b, s, strlen(s));
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void put_frame(struct buf *out, uint16_t type, uint32_t flags, uint64_t seq,
		      const struct buf *ram, const struct buf *dev)
{
	uint8_t h[FTMB_CKPT_HDR_LEN] = { 0 };
	struct buf body = { 0 };

	put(&body, ram->p, ram->len);
	if (dev->len)
		put(&body, dev->p, dev->len);
	ftmb_put_le32(h, FTMB_CKPT_MAGIC);
	ftmb_put_le16(h + 4, FTMB_CKPT_VERSION);
	ftmb_put_le16(h + 6, type);
	ftmb_put_le32(h + 8, flags);
	ftmb_put_le32(h + 12, ftmb_crc32c(body.p, body.len));
	ftmb_put_le64(h + 16, seq);
	ftmb_put_le64(h + 24, ram->len);
	ftmb_put_le64(h + 32, dev->len);
	ftmb_put_le32(h + 44, ftmb_crc32c(h, 44));
	put(out, h, sizeof(h));
	put(out, body.p, body.len);
	buf_free(&body);
}

static void put_hello(struct buf *out)
{
	struct buf hello = { 0 }, none = { 0 };

	put_le(&hello, PS, 4);
	put_le(&hello, 2, 2);
	put_le(&hello, strlen("pc-i440fx-7.2"), 1);
	put_u8(&hello, 0);
	put(&hello, "pc-i440fx-7.2", strlen("pc-i440fx-7.2"));
	put_str8(&hello, "pc.ram");
	put_le(&hello, RAM_LEN, 8);
	put_str8(&hello, "rom");
	put_le(&hello, ROM_LEN, 8);
	put_frame(out, FTMB_CKPT_HELLO, 0, 0, &hello, &none);
	buf_free(&hello);
}

/* A device part as qemu_save_device_state() shapes it. */
static void put_dev(struct buf *dev, uint8_t tag)
{
	uint8_t sections[5] = { 0x04, tag, tag, tag, 0x00 };

	put_be64(dev, (uint64_t)0x5145564d << 32 | 3);
	put(dev, sections, sizeof(sections));
}

/* The VM the frames describe, as the test expects the store to hold it. */
struct vm {
	uint8_t ram[RAM_LEN];
	uint8_t rom[ROM_LEN];
};

/* One RAM record; block NULL means CONTINUE. */
static void rec_page(struct buf *r, const char *block, uint64_t off, uint8_t fill)
{
	uint8_t page[PS];

	put_be64(r, off | FTMB_CKPT_RAM_PAGE | (block ? 0 : FTMB_CKPT_RAM_CONTINUE));
	if (block)
		put_str8(r, block);
	memset(page, fill, sizeof(page));
	page[0] = (uint8_t)off;
	put(r, page, sizeof(page));
}

static void rec_zero(struct buf *r, const char *block, uint64_t off, uint8_t fill)
{
	put_be64(r, off | FTMB_CKPT_RAM_ZERO | (block ? 0 : FTMB_CKPT_RAM_CONTINUE));
	if (block)
		put_str8(r, block);
	put_u8(r, fill);
}

static void model_page(uint8_t *img, uint64_t off, uint8_t fill)
{
	memset(img + off, fill, PS);
	img[off] = (uint8_t)off;
}

/* Checkpoint 1: every page; RAM page i filled with i+1, odd ROM page zero. */
static void put_full(struct buf *out, struct vm *vm)
{
	struct buf ram = { 0 }, dev = { 0 };

	for (uint64_t i = 0; i < RAM_LEN / PS; i++) {
		rec_page(&ram, i ? NULL : "pc.ram", i * PS, (uint8_t)(i + 1));
		model_page(vm->ram, i * PS, (uint8_t)(i + 1));
	}
	rec_page(&ram, "rom", 0, 0xee);
	model_page(vm->rom, 0, 0xee);
	rec_zero(&ram, NULL, PS, 0);
	memset(vm->rom + PS, 0, PS);
	put_be64(&ram, FTMB_CKPT_RAM_EOS);
	put_dev(&dev, 1);
	put_frame(out, FTMB_CKPT_CHECKPOINT, FTMB_CKPT_FLAG_FULL, 1, &ram, &dev);
	buf_free(&ram);
	buf_free(&dev);
}

/* Checkpoint seq > 1: pages seq and seq+3 of RAM change, page 2 becomes 0x5a. */
static void put_increment(struct buf *out, uint64_t seq, struct vm *vm)
{
	struct buf ram = { 0 }, dev = { 0 };
	uint64_t a = (seq % 16) * PS, b = ((seq + 3) % 16) * PS;

	rec_page(&ram, "pc.ram", a, (uint8_t)(0x80 + seq));
	model_page(vm->ram, a, (uint8_t)(0x80 + seq));
	rec_page(&ram, NULL, b, (uint8_t)(0x40 + seq));
	model_page(vm->ram, b, (uint8_t)(0x40 + seq));
	rec_zero(&ram, NULL, 2 * PS, 0x5a);
	memset(vm->ram + 2 * PS, 0x5a, PS);
	put_be64(&ram, FTMB_CKPT_RAM_EOS);
	put_dev(&dev, (uint8_t)seq);
	put_frame(out, FTMB_CKPT_CHECKPOINT, 0, seq, &ram, &dev);
	buf_free(&ram);
	buf_free(&dev);
}

/* --- feeding -------------------------------------------------------------- */

struct rx {
	struct ftmb_ckpt_parser parser;
	struct ftmb_ckpt_store store;
	int frames;
};

static int rx_setup(void **state)
{
	struct rx *rx = calloc(1, sizeof(*rx));

	ftmb_ckpt_parser_init(&rx->parser);
	ftmb_ckpt_store_init(&rx->store);
	*state = rx;
	return 0;
}

static int rx_teardown(void **state)
{
	struct rx *rx = *state;

	ftmb_ckpt_parser_free(&rx->parser);
	ftmb_ckpt_store_free(&rx->store);
	free(rx);
	return 0;
}

/* Feeds data in pieces of at most `piece` bytes (0: random sizes) and
 * applies each checkpoint; returns the first error or FTMB_OK. */
static int feed(struct rx *rx, const struct buf *b, size_t piece)
{
	size_t off = 0;

	while (off < b->len) {
		size_t n = piece ? piece : 1 + (size_t)rand() % 9000, used;
		struct ftmb_ckpt_frame f;
		int r;

		if (n > b->len - off)
			n = b->len - off;
		r = ftmb_ckpt_parser_feed(&rx->parser, b->p + off, n, &used, &f);
		if (r < 0)
			return r;
		assert_true(used <= n);
		assert_true(used > 0 || n == 0);
		off += used;
		if (r == 1) {
			rx->frames++;
			if (f.type == FTMB_CKPT_CHECKPOINT) {
				int err = ftmb_ckpt_store_apply(&rx->store, &rx->parser.layout, &f, &f.seq,
								sizeof(f.seq));
				if (err)
					return err;
			}
		}
	}
	return FTMB_OK;
}

static void assert_store_is(const struct rx *rx, const struct vm *vm, uint64_t seq)
{
	uint64_t cut;

	assert_true(rx->store.valid);
	assert_int_equal(rx->store.seq, seq);
	assert_memory_equal(rx->store.image[0], vm->ram, RAM_LEN);
	assert_memory_equal(rx->store.image[1], vm->rom, ROM_LEN);
	assert_int_equal(rx->store.dev_len, 13);
	assert_int_equal(rx->store.dev[9], (uint8_t)seq);
	assert_int_equal(rx->store.cut_len, sizeof(cut));
	memcpy(&cut, rx->store.cut, sizeof(cut));
	assert_int_equal(cut, seq);
}

/* A stream of HELLO, the full checkpoint and increments 2..last. */
static void put_stream(struct buf *b, struct vm *vm, uint64_t last)
{
	put_hello(b);
	put_full(b, vm);
	for (uint64_t s = 2; s <= last; s++)
		put_increment(b, s, vm);
}

/* --- tests ---------------------------------------------------------------- */

static void test_byte_by_byte(void **state)
{
	struct rx *rx = *state;
	struct vm vm = { 0 };
	struct buf b = { 0 };

	put_stream(&b, &vm, 4);
	assert_int_equal(feed(rx, &b, 1), FTMB_OK);
	assert_int_equal(rx->frames, 5);
	assert_string_equal(rx->parser.layout.machine, "pc-i440fx-7.2");
	assert_int_equal(rx->parser.layout.n_blocks, 2);
	assert_store_is(rx, &vm, 4);
	assert_int_equal(ftmb_ckpt_parser_finish(&rx->parser), FTMB_OK);
	buf_free(&b);
}

static void test_random_pieces(void **state)
{
	struct rx *rx = *state;
	struct vm vm = { 0 };
	struct buf b = { 0 };

	srand(7);
	put_stream(&b, &vm, 40);
	assert_int_equal(feed(rx, &b, 0), FTMB_OK);
	assert_store_is(rx, &vm, 40);
	buf_free(&b);
}

/* The stream breaks inside checkpoint 4, at every possible point: the store
 * keeps checkpoint 3 and the parser reports the truncation. */
static void test_truncated_never_applied(void **state)
{
	struct rx *rx = *state;
	struct vm vm = { 0 }, vm3;
	struct buf b = { 0 };
	size_t upto3;

	put_stream(&b, &vm, 3);
	upto3 = b.len;
	vm3 = vm;
	put_increment(&b, 4, &vm);
	for (size_t cut = upto3 + 1; cut < b.len; cut += 97) {
		struct buf part = { .p = b.p, .len = cut };

		rx_teardown(state);
		rx_setup(state);
		rx = *state;
		assert_int_equal(feed(rx, &part, 1000), FTMB_OK);
		assert_store_is(rx, &vm3, 3);
		assert_int_equal(ftmb_ckpt_parser_finish(&rx->parser), FTMB_E_TRUNCATED);
		assert_non_null(strstr(rx->parser.why, "stream ended inside"));
	}
	buf_free(&b);
}

static void corrupt_and_expect(void **state, size_t at, uint8_t xor_with, int want,
			       const char *why)
{
	struct rx *rx = *state;
	struct vm vm = { 0 }, vm2;
	struct buf b = { 0 };
	size_t upto2;

	put_stream(&b, &vm, 2);
	upto2 = b.len;
	vm2 = vm;
	put_increment(&b, 3, &vm);
	b.p[upto2 + at] ^= xor_with;
	assert_int_equal(feed(rx, &b, 0), want);
	assert_non_null(strstr(rx->parser.why, why));
	assert_store_is(rx, &vm2, 2);
	/* the parser stays failed */
	assert_int_equal(feed(rx, &b, 0), want);
	buf_free(&b);
}

static void test_bad_body_checksum(void **state)
{
	corrupt_and_expect(state, FTMB_CKPT_HDR_LEN + 100, 0x01, FTMB_E_CHECKSUM, "body checksum");
}

static void test_bad_header_checksum(void **state)
{
	corrupt_and_expect(state, 20, 0x10, FTMB_E_CHECKSUM, "header checksum");
}

static void test_bad_magic(void **state)
{
	corrupt_and_expect(state, 0, 0xff, FTMB_E_MAGIC, "magic");
}

/* Feeds HELLO, the full checkpoint, then one checkpoint 2 with RAM part ram
 * (the device part valid); expects error want with why containing text. */
static void expect_ram_error(void **state, struct buf *ram, int want, const char *text)
{
	struct rx *rx = *state;
	struct vm vm = { 0 }, vm1;
	struct buf b = { 0 }, dev = { 0 };

	put_stream(&b, &vm, 1);
	vm1 = vm;
	put_dev(&dev, 2);
	put_frame(&b, FTMB_CKPT_CHECKPOINT, 0, 2, ram, &dev);
	assert_int_equal(feed(rx, &b, 0), want);
	assert_non_null(strstr(rx->parser.why, text));
	assert_store_is(rx, &vm1, 1);
	buf_free(&b);
	buf_free(&dev);
	buf_free(ram);
}

static void test_offset_outside_block(void **state)
{
	struct buf ram = { 0 };

	rec_page(&ram, "rom", ROM_LEN, 1); /* one page past the end */
	put_be64(&ram, FTMB_CKPT_RAM_EOS);
	expect_ram_error(state, &ram, FTMB_E_RANGE, "beyond block 'rom'");
}

static void test_unknown_block(void **state)
{
	struct buf ram = { 0 };

	rec_page(&ram, "pc.ram", 0, 1);
	rec_page(&ram, "vga.vram", 0, 1);
	put_be64(&ram, FTMB_CKPT_RAM_EOS);
	expect_ram_error(state, &ram, FTMB_E_RANGE, "unknown RAM block 'vga.vram'");
}

static void test_continue_first(void **state)
{
	struct buf ram = { 0 };

	rec_page(&ram, NULL, 0, 1);
	put_be64(&ram, FTMB_CKPT_RAM_EOS);
	expect_ram_error(state, &ram, FTMB_E_FIELD, "CONTINUE with no previous block");
}

static void test_unsupported_flags(void **state)
{
	struct buf ram = { 0 };

	put_be64(&ram, 0 | 0x40 /* XBZRLE */);
	put_str8(&ram, "pc.ram");
	put_be64(&ram, FTMB_CKPT_RAM_EOS);
	expect_ram_error(state, &ram, FTMB_E_TYPE, "flags 0x40");
}

static void test_missing_eos(void **state)
{
	struct buf ram = { 0 };

	rec_page(&ram, "pc.ram", 0, 1);
	expect_ram_error(state, &ram, FTMB_E_TRUNCATED, "no EOS");
}

static void test_bytes_after_eos(void **state)
{
	struct buf ram = { 0 };

	put_be64(&ram, FTMB_CKPT_RAM_EOS);
	rec_zero(&ram, "pc.ram", 0, 0);
	expect_ram_error(state, &ram, FTMB_E_LENGTH, "after EOS");
}

static void test_page_past_end(void **state)
{
	struct buf ram = { 0 };

	put_be64(&ram, 0 | FTMB_CKPT_RAM_PAGE);
	put_str8(&ram, "pc.ram");
	put(&ram, "short", 5);
	expect_ram_error(state, &ram, FTMB_E_LENGTH, "page runs past the end");
}

/* A header with a valid checksum but lengths no layout allows is refused
 * before any body is awaited or allocated. */
static void test_absurd_lengths(void **state)
{
	static const uint64_t lens[][2] = {
		{ UINT64_MAX, 0 }, { 1ull << 40, 13 }, { 8, FTMB_CKPT_MAX_DEV_LEN + 1 },
	};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct rx *rx;
		struct vm vm = { 0 };
		struct buf b = { 0 };
		uint8_t *h;

		rx_teardown(state);
		rx_setup(state);
		rx = *state;
		put_stream(&b, &vm, 1);
		put_increment(&b, 2, &vm);
		/* find checkpoint 2's header, give it new lengths, re-seal it */
		h = NULL;
		for (size_t off = 0; off + FTMB_CKPT_HDR_LEN <= b.len; off++)
			if (ftmb_get_le32(b.p + off) == FTMB_CKPT_MAGIC &&
			    ftmb_get_le64(b.p + off + 16) == 2)
				h = b.p + off;
		assert_non_null(h);
		ftmb_put_le64(h + 24, lens[i][0]);
		ftmb_put_le64(h + 32, lens[i][1]);
		ftmb_put_le32(h + 44, ftmb_crc32c(h, 44));
		b.len = (size_t)(h - b.p) + FTMB_CKPT_HDR_LEN; /* no body follows */
		assert_int_equal(feed(rx, &b, 0), FTMB_E_LENGTH);
		assert_non_null(strstr(rx->parser.why, "absurd lengths"));
		assert_true(rx->parser.body_cap < (1u << 20));
		assert_int_equal(rx->store.seq, 1);
		buf_free(&b);
	}
}

static void test_sequence_rules(void **state)
{
	struct rx *rx = *state;
	struct vm vm = { 0 };
	struct buf b = { 0 };

	/* a checkpoint before HELLO */
	put_full(&b, &vm);
	assert_int_equal(feed(rx, &b, 0), FTMB_E_SEQ);
	assert_non_null(strstr(rx->parser.why, "before HELLO"));
	buf_free(&b);

	/* a gap: 1 then 3 */
	rx_teardown(state);
	rx_setup(state);
	rx = *state;
	put_stream(&b, &vm, 1);
	put_increment(&b, 3, &vm);
	assert_int_equal(feed(rx, &b, 0), FTMB_E_SEQ);
	assert_non_null(strstr(rx->parser.why, "checkpoint 3 after 1"));
	assert_int_equal(rx->store.seq, 1);
	buf_free(&b);

	/* a second HELLO */
	rx_teardown(state);
	rx_setup(state);
	rx = *state;
	put_stream(&b, &vm, 1);
	put_hello(&b);
	assert_int_equal(feed(rx, &b, 0), FTMB_E_SEQ);
	assert_non_null(strstr(rx->parser.why, "second HELLO"));
	buf_free(&b);
}

static void test_device_state_checked(void **state)
{
	struct rx *rx = *state;
	struct vm vm = { 0 };
	struct buf b = { 0 }, ram = { 0 }, dev = { 0 };

	put_stream(&b, &vm, 1);
	put_be64(&ram, FTMB_CKPT_RAM_EOS);
	put(&dev, "not a device state", 18);
	put_frame(&b, FTMB_CKPT_CHECKPOINT, 0, 2, &ram, &dev);
	assert_int_equal(feed(rx, &b, 0), FTMB_E_MAGIC);
	assert_non_null(strstr(rx->parser.why, "QEVM"));
	assert_int_equal(rx->store.seq, 1);
	buf_free(&b);
	buf_free(&ram);
	buf_free(&dev);
}

/* The store alone: increments must follow their own stream's checkpoint, and a
 * refused apply leaves it exactly as it was. */
static void test_store_rules(void **state)
{
	struct rx *rx = *state, other;
	struct vm vm = { 0 }, vm_other = { 0 };
	struct buf b = { 0 }, b2 = { 0 };
	uint8_t before[RAM_LEN];

	put_stream(&b, &vm, 2);
	assert_int_equal(feed(rx, &b, 0), FTMB_OK);
	memcpy(before, rx->store.image[0], RAM_LEN);

	/* checkpoint 3 of another stream cannot extend this store */
	ftmb_ckpt_parser_init(&other.parser);
	put_stream(&b2, &vm_other, 3);
	{
		size_t off = 0, used;
		struct ftmb_ckpt_frame f;
		int r, err = FTMB_OK;

		while (off < b2.len) {
			r = ftmb_ckpt_parser_feed(&other.parser, b2.p + off, b2.len - off, &used, &f);
			assert_true(r >= 0);
			off += used;
			if (r == 1 && f.seq == 3)
				err = ftmb_ckpt_store_apply(&rx->store, &other.parser.layout, &f, NULL, 0);
		}
		assert_int_equal(err, FTMB_E_SEQ);
		assert_non_null(strstr(rx->store.why, "no full checkpoint of its stream"));
	}
	assert_memory_equal(rx->store.image[0], before, RAM_LEN);
	assert_store_is(rx, &vm, 2);

	/* a forged frame with a bad record is refused before anything is written */
	{
		struct ftmb_ckpt_frame f = { .type = FTMB_CKPT_CHECKPOINT, .seq = 3,
					     .stream = rx->parser.stream };
		struct buf ram = { 0 };
		uint8_t dev[13] = { 0 };

		rec_page(&ram, "pc.ram", 0, 0x77);
		rec_page(&ram, NULL, RAM_LEN, 0x77);
		put_be64(&ram, FTMB_CKPT_RAM_EOS);
		f.ram = ram.p;
		f.ram_len = ram.len;
		f.dev = dev;
		f.dev_len = sizeof(dev);
		assert_int_equal(ftmb_ckpt_store_apply(&rx->store, &rx->parser.layout, &f, NULL, 0),
				 FTMB_E_RANGE);
		assert_memory_equal(rx->store.image[0], before, RAM_LEN);
		assert_store_is(rx, &vm, 2);
		buf_free(&ram);
	}
	ftmb_ckpt_parser_free(&other.parser);
	buf_free(&b);
	buf_free(&b2);
}

/* --- restore stream --------------------------------------------------------- */

/* Checkpoint seq that zeroes pc.ram's page `page`. */
static void put_zeroing(struct buf *out, uint64_t seq, uint64_t page, struct vm *vm)
{
	struct buf ram = { 0 }, dev = { 0 };

	rec_zero(&ram, "pc.ram", page * PS, 0);
	memset(vm->ram + page * PS, 0, PS);
	put_be64(&ram, FTMB_CKPT_RAM_EOS);
	put_dev(&dev, (uint8_t)seq);
	put_frame(out, FTMB_CKPT_CHECKPOINT, 0, seq, &ram, &dev);
	buf_free(&ram);
	buf_free(&dev);
}

static uint32_t rd_be32(const uint8_t **p)
{
	uint32_t v;

	memcpy(&v, *p, 4);
	*p += 4;
	return be32toh(v);
}

static uint64_t rd_be64(const uint8_t **p)
{
	uint64_t v;

	memcpy(&v, *p, 8);
	*p += 8;
	return be64toh(v);
}

/* Reads the stream back the way QEMU 7.2's loader does and checks it
 * reproduces the stored RAM and device state. */
static void test_restore_stream(void **state)
{
	struct rx *rx = *state;
	struct vm vm = { 0 }, loaded = { 0 };
	struct buf b = { 0 };
	struct ftmb_ckpt_restore_stats st = { 0 };
	const char *fresh[] = { "pc.ram", NULL };
	struct ftmb_ckpt_restore_opts opts = { .fresh_zero = fresh };
	int fd;
	uint8_t *s = malloc(1 << 20);
	const uint8_t *p;
	ssize_t n;
	uint8_t *img = NULL;

	put_stream(&b, &vm, 5);
	put_zeroing(&b, 6, 5, &vm); /* a zero page in pc.ram: not sent */
	assert_int_equal(feed(rx, &b, 0), FTMB_OK);
	fd = memfd_create("restore-stream", 0);
	assert_true(fd >= 0);
	assert_int_equal(ftmb_ckpt_restore_write(&rx->store, fd, &opts, &st), FTMB_OK);
	n = pread(fd, s, 1 << 20, 0);
	close(fd);
	assert_int_equal((uint64_t)n, st.stream_bytes);
	assert_int_equal(st.pages, 16 - 1 + 1);  /* pc.ram but page 5, rom page 0 */
	assert_int_equal(st.zero_pages, 1);      /* rom page 1 */

	p = s;
	assert_int_equal(rd_be32(&p), 0x5145564d);
	assert_int_equal(rd_be32(&p), 3);
	assert_int_equal(*p++, 0x07);
	assert_int_equal(rd_be32(&p), 13);
	assert_memory_equal(p, "pc-i440fx-7.2", 13);
	p += 13;
	assert_int_equal(*p++, 0x01);
	rd_be32(&p);
	assert_int_equal(*p++, 3);
	assert_memory_equal(p, "ram", 3);
	p += 3;
	assert_int_equal(rd_be32(&p), 0);
	assert_int_equal(rd_be32(&p), 4);
	assert_int_equal(rd_be64(&p), (RAM_LEN + ROM_LEN) | 0x04);
	assert_int_equal(*p, 6);
	p += 1 + 6;
	assert_int_equal(rd_be64(&p), RAM_LEN);
	assert_int_equal(*p, 3);
	p += 1 + 3;
	assert_int_equal(rd_be64(&p), ROM_LEN);
	for (;;) {
		uint64_t v = rd_be64(&p), off = v & ~(uint64_t)(PS - 1);

		if (v & 0x10)
			break;
		if (!(v & FTMB_CKPT_RAM_CONTINUE)) {
			img = p[0] == 6 ? loaded.ram : loaded.rom;
			p += 1 + p[0];
		}
		assert_non_null(img);
		if (v & FTMB_CKPT_RAM_ZERO)
			memset(img + off, *p++, PS);
		else {
			memcpy(img + off, p, PS);
			p += PS;
		}
	}
	assert_memory_equal(loaded.ram, vm.ram, RAM_LEN);
	assert_memory_equal(loaded.rom, vm.rom, ROM_LEN);
	assert_int_equal(*p++, 0x7e);
	rd_be32(&p);
	assert_memory_equal(p, rx->store.dev + 8, rx->store.dev_len - 8);
	p += rx->store.dev_len - 8;
	assert_int_equal(*p++, 0x06);
	assert_int_equal(rd_be32(&p), 2);
	assert_memory_equal(p, "{}", 2);
	p += 2;
	assert_int_equal(p - s, n);
	free(s);
	buf_free(&b);
}

/* A prefilled block leaves the stream and lands in its file instead. */
static void test_restore_prefill(void **state)
{
	struct rx *rx = *state;
	struct vm vm = { 0 };
	struct buf b = { 0 };
	char path[] = "/tmp/ftmb-test-ckpt-prefill-XXXXXX", entry[64], why[200];
	const char *prefill[] = { entry, NULL };
	struct ftmb_ckpt_restore_opts opts = { .prefill = prefill };
	struct ftmb_ckpt_restore_stats st = { 0 };
	uint8_t *file = malloc(RAM_LEN);
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	snprintf(entry, sizeof(entry), "pc.ram=%s", path);
	put_stream(&b, &vm, 3);
	put_zeroing(&b, 4, 5, &vm); /* a hole between two runs of pages */
	assert_int_equal(feed(rx, &b, 0), FTMB_OK);

	assert_int_equal(ftmb_ckpt_restore_prefill(&rx->store, &opts, &st, why, sizeof(why)), FTMB_OK);
	assert_int_equal(st.prefill_bytes, RAM_LEN - PS);
	fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, file, RAM_LEN, 0), RAM_LEN);
	close(fd);
	assert_memory_equal(file, vm.ram, RAM_LEN);

	fd = memfd_create("restore-stream", 0);
	assert_int_equal(ftmb_ckpt_restore_write(&rx->store, fd, &opts, &st), FTMB_OK);
	close(fd);
	assert_int_equal(st.pages, 1);      /* rom page 0 only */
	assert_int_equal(st.zero_pages, 1); /* rom page 1 */

	snprintf(entry, sizeof(entry), "pc.ram=/nonexistent-dir/ram");
	assert_int_equal(ftmb_ckpt_restore_prefill(&rx->store, &opts, &st, why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "for block 'pc.ram'"));
	unlink(path);
	free(file);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_byte_by_byte, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_random_pieces, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_truncated_never_applied, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_body_checksum, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_header_checksum, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_offset_outside_block, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_block, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_continue_first, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_flags, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_missing_eos, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_bytes_after_eos, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_page_past_end, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_absurd_lengths, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_sequence_rules, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_device_state_checked, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_store_rules, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_stream, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_prefill, rx_setup, rx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
