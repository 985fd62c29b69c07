/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cuts and commits: where each checkpoint stands in the instance's
 * numbering (ftmb/region.h, ftmb/repl.h).
 *
 * A checkpointed VM (cut=pause). QEMU pauses the VM for each checkpoint:
 * it stops the vCPUs, then stops the vhost-user device, and librte_vhost
 * calls destroy_device before it answers GET_VRING_BASE, so before QEMU
 * saves any RAM. There, on the vhost event thread, the device is withdrawn
 * from the polling loop (no input can be handed to the guest any more) and
 * the loop is asked for a cut, and waited for: the loop drains the PAL
 * rings (the vCPUs are stopped, so they hold everything published), counts
 * what it handed to the guest and what the guest published, writes the cut
 * into the region's cut slot (captured with guest memory: hostd sends the
 * region whole in every checkpoint) and queues the same cut as a CUT frame
 * for the backup. The epoch counts the device stops; a bare stop and cont
 * makes a cut too, which no checkpoint carries.
 *
 * A host process in mode checkpoint (ckpt_interval_ms=): the loop takes a
 * cut on a timer; nothing is logged, so the cut is empty and the backup
 * commits it at once: a checkpoint of size zero, the lower bound of what
 * checkpoint-then-release costs.
 *
 * The backup answers COMMITTED(E) once the checkpoint of epoch E is safe;
 * in mode checkpoint that releases the outputs waiting for it.
 */
#ifndef VHOST_CUT_H
#define VHOST_CUT_H

#include <stddef.h>
#include <stdint.h>

#include "instance.h"

/* The device thread's half, at a pause: asks the polling loop for a cut and
 * waits until it is written (at most a second; a loop that does not answer
 * leaves this pause without a cut, logged). */
void cut_at_pause(struct instance *inst);

/* The loop's half: serves a pending pause request, takes a timer cut when
 * it is due. Returns the work done. */
uint64_t cut_poll(struct instance *inst, uint64_t now_ns);

/* The backup's COMMITTED(epoch). Returns FTMB_OK, or an enum ftmb_err with
 * why set when the backup commits a cut that was never taken or goes back. */
int cut_committed(struct instance *inst, uint64_t epoch, char *why, size_t why_len);

/* A replica of a checkpointed VM: reads the cut of the region restored from
 * the checkpoint and checks it against the replay log's CUT and the
 * instance; numbering and epochs resume from it. Returns 0, or -1 with a
 * message in err. */
int cut_resume_from_region(struct instance *inst, char *err, size_t errlen);

/* A replica of a checkpointed VM that has a backup again (re-protection):
 * queues BASE, the restored cut it resumed from (cut_resume_from_region),
 * as the very first frame of its log, before any INPUT or PAL, so that the
 * new backup's log starts after it (ftmb/repl.h). The frame stays in the
 * send buffer, and is sent again after a reconnection, until the backup's
 * ACK covers the cut. */
void cut_send_base(struct instance *inst);

#endif
