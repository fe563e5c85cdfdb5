# SPDX-License-Identifier: GPL-2.0-only
#
# vmm: build vmm.ko against the Debian kernel the test rig boots, and run
# the demo, the test suite, the benchmarks and the KVM compatibility report
# inside a QEMU TCG guest.  Nothing is ever loaded into the host's kernel.
#
#   make            build vmm.ko (installs nothing: run scripts/deps.sh or
#                   any target below first on a fresh machine)
#   make run        boot the rig, run the demo guest on /dev/vmm
#   make check      boot the rig, run every selftest (TAP + summary line)
#   make bench      benchmarks, vmm against kvm in one boot
#   make compat     KVM's own selftests against kvm and vmm, side by side
#   make sparse     sparse (C=2) over the module
#   make checkpatch checkpatch.pl --no-tree over our sources
#   make intree     build vmm.ko in a Debian kernel tree as CONFIG_VMM=m

ifneq ($(KERNELRELEASE),)
include $(src)/Kbuild
else

TOP	:= $(CURDIR)
BUILD	:= $(TOP)/build
KVER	= $(shell $(TOP)/scripts/kver.sh)
KDIR	= /usr/src/linux-headers-$(KVER)
KMAKE	= $(MAKE) -C $(KDIR) M=$(TOP) CONFIG_VMM=m

.PHONY: all module deps run check bench compat sparse checkpatch intree clean

all: module

deps:
	@$(TOP)/scripts/deps.sh

# Only the targets that boot the rig (and the checkers) install packages.
NEED_DEPS := $(filter run check bench compat sparse checkpatch,$(MAKECMDGOALS))

module: $(if $(NEED_DEPS),deps)
	$(KMAKE) W=1 modules

run: module
	$(TOP)/tools/vmm-run/run-demo.sh --module $(TOP)/vmm.ko $(BUILD)/run

check: module
	$(TOP)/tools/testing/vmm-rig/run-selftests.sh --module $(TOP)/vmm.ko \
		$(BUILD)/check $(BUILD)/check/rig.log

bench: module
	$(TOP)/tools/vmm-bench/run-bench.sh --module $(TOP)/vmm.ko $(BUILD)/bench

compat: module
	$(TOP)/tools/testing/vmm-compat/compat.sh --module $(TOP)/vmm.ko \
		$(BUILD)/compat-run

sparse: deps
	$(KMAKE) C=2 W=1 modules

CHECKPATCH_FILES = $(shell cd $(TOP) && git ls-files -- '*.[chS]' \
	':!:tools/testing/selftests/vmm/include/kselftest*')

checkpatch: deps
	@$(TOP)/scripts/linux-src.sh $(BUILD)/linux-source
	cd $(TOP) && $(BUILD)/linux-source/scripts/checkpatch.pl --no-tree \
		--quiet --show-types --ignore SPDX_LICENSE_TAG -f $(CHECKPATCH_FILES)

intree:
	$(TOP)/scripts/intree-build.sh $(BUILD)/intree

clean:
	-$(KMAKE) clean
	rm -rf $(BUILD)/check $(BUILD)/run $(BUILD)/bench $(BUILD)/compat-run

endif
