#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# VM checkpoints end to end under TCG (check_vm.py says what is checked).
# About a minute.
. "$(dirname "$0")/lab.sh"
lab_run check_vm.py "$@"
