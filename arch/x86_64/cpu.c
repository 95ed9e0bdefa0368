/* cpu.c - CPU identification and a few machine-level actions. */
#include <arch/cpu.h>
#include <arch/irqflags.h>
#include <weft/printk.h>
#include <weft/qemu.h>
#include <weft/string.h>

struct cpu_features cpu_features;

void cpu_detect(void)
{
	struct cpu_features *f = &cpu_features;
	uint32_t a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	f->max_leaf = a;
	memcpy(f->vendor + 0, &b, 4);
	memcpy(f->vendor + 4, &d, 4);
	memcpy(f->vendor + 8, &c, 4);
	f->vendor[12] = 0;
	cpuid(1, 0, &a, &b, &c, &d);
	f->family = (a >> 8) & 0xf;
	f->model = (a >> 4) & 0xf;
	if (f->family == 0xf)
		f->family += (a >> 20) & 0xff;
	if (f->family >= 6)
		f->model |= ((a >> 16) & 0xf) << 4;
	f->stepping = a & 0xf;
	f->apic = d & (1U << 9);
	f->x2apic = c & (1U << 21);
	f->tsc_deadline = c & (1U << 24);
	f->xsave = c & (1U << 26);
	f->avx = c & (1U << 28);
	f->pcid = c & (1U << 17);
	f->hypervisor = c & (1U << 31);
	if (f->max_leaf >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		f->fsgsbase = b & (1U << 0);
		f->smep = b & (1U << 7);
		f->invpcid = b & (1U << 10);
		f->avx512f = b & (1U << 16);
		f->smap = b & (1U << 20);
		f->umip = c & (1U << 2);
	}
	if (f->max_leaf >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c)
			f->tsc_khz_cpuid = (uint32_t)((uint64_t)c * b / a / 1000);
	}
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	f->max_ext_leaf = a;
	if (f->max_ext_leaf >= 0x80000001) {
		cpuid(0x80000001, 0, &a, &b, &c, &d);
		f->nx = d & (1U << 20);
		f->pdpe1gb = d & (1U << 26);
		f->rdtscp = d & (1U << 27);
		f->syscall = d & (1U << 11);
	}
	if (f->max_ext_leaf >= 0x80000004) {
		uint32_t *p = (uint32_t *)f->brand;
		for (uint32_t leaf = 0x80000002; leaf <= 0x80000004; leaf++, p += 4)
			cpuid(leaf, 0, &p[0], &p[1], &p[2], &p[3]);
		f->brand[48] = 0;
	}
	if (f->max_ext_leaf >= 0x80000007) {
		cpuid(0x80000007, 0, &a, &b, &c, &d);
		f->invariant_tsc = d & (1U << 8);
	}
	f->phys_addr_bits = 36;
	f->virt_addr_bits = 48;
	if (f->max_ext_leaf >= 0x80000008) {
		cpuid(0x80000008, 0, &a, &b, &c, &d);
		f->phys_addr_bits = a & 0xff;
		f->virt_addr_bits = (a >> 8) & 0xff;
	}
}

void cpu_print_features(void)
{
	const struct cpu_features *f = &cpu_features;
	const char *brand = f->brand;
	while (*brand == ' ')
		brand++;
	kprintf("vendor   %s, family %u model %u stepping %u\n", f->vendor, f->family, f->model,
		f->stepping);
	kprintf("brand    %s\n", *brand ? brand : "(none)");
	kprintf("address  %u physical bits, %u virtual bits\n", f->phys_addr_bits,
		f->virt_addr_bits);
	kprintf("features%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s\n", f->nx ? " nx" : "",
		f->pdpe1gb ? " pdpe1gb" : "", f->apic ? " apic" : "", f->x2apic ? " x2apic" : "",
		f->tsc_deadline ? " tsc-deadline" : "", f->invariant_tsc ? " invariant-tsc" : "",
		f->rdtscp ? " rdtscp" : "", f->syscall ? " syscall" : "", f->xsave ? " xsave" : "",
		f->avx ? " avx" : "", f->avx512f ? " avx512f" : "", f->fsgsbase ? " fsgsbase" : "",
		f->pcid ? " pcid" : "", f->invpcid ? " invpcid" : "", f->smep ? " smep" : "",
		f->smap ? " smap" : "", f->umip ? " umip" : "");
	kprintf("running  %s\n", f->hypervisor ? "under a hypervisor" : "on bare metal (no hypervisor bit)");
}

void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void qemu_exit(unsigned code)
{
	outl(0xf4, code);
	cpu_halt_forever();
}

/* Reset the machine: the keyboard controller's reset line, then the PCI
 * reset register (0xcf9), then a triple fault with an empty IDT. */
__attribute__((noreturn)) void machine_reboot(void)
{
	local_irq_disable();
	for (int i = 0; i < 10000 && (inb(0x64) & 0x02); i++)
		cpu_relax();
	outb(0x64, 0xfe);
	outb(0xcf9, 0x02);
	outb(0xcf9, 0x06);
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };
	__asm__ volatile("lidt %0; int3" : : "m"(empty));
	cpu_halt_forever();
}
