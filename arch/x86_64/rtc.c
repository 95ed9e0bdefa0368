/*
 * rtc.c - the wall-clock time at boot, from the CMOS real-time clock.
 *
 * Read once (time_rtc_init); CLOCK_REALTIME is then this epoch plus the
 * monotonic TSC clock. The RTC is read twice until two readings agree,
 * so an update in the middle of a read cannot tear it.
 */
#include <weft/time.h>
#include <weft/printk.h>
#include <arch/cpu.h>

uint64_t time_rtc_epoch_ns;

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static unsigned bcd(uint8_t v, bool binary) { return binary ? v : (v >> 4) * 10 + (v & 15); }

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static uint64_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
	static const unsigned before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	uint64_t days = (uint64_t)(y - 1970) * 365 + before[m - 1] + d - 1;
	for (unsigned yy = 1970; yy < y; yy++)
		days += (yy % 4 == 0 && (yy % 100 != 0 || yy % 400 == 0));
	if (m > 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		days++;
	return days;
}

void time_rtc_init(void)
{
	uint8_t r[6] = { 0 }, prev[6];   /* the first pass copies r before reading the CMOS */
	int tries = 0;
	do {
		for (int i = 0; i < 6; i++)
			prev[i] = r[i];
		while (cmos(0x0a) & 0x80)      /* update in progress */
			cpu_relax();
		r[0] = cmos(0x00); r[1] = cmos(0x02); r[2] = cmos(0x04);
		r[3] = cmos(0x07); r[4] = cmos(0x08); r[5] = cmos(0x09);
	} while (++tries < 2 || (tries < 10 && __builtin_memcmp(r, prev, 6)));
	uint8_t b = cmos(0x0b);
	bool binary = b & 4, h24 = b & 2;
	unsigned sec = bcd(r[0], binary), min = bcd(r[1], binary);
	unsigned hour = bcd(r[2] & 0x7f, binary), day = bcd(r[3], binary);
	unsigned mon = bcd(r[4], binary), year = 2000 + bcd(r[5], binary);
	if (!h24 && (r[2] & 0x80))
		hour = (hour % 12) + 12;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
		pr_warn("rtc: unreadable CMOS clock; CLOCK_REALTIME starts at 1970\n");
		return;
	}
	uint64_t secs = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
	time_rtc_epoch_ns = secs * NSEC_PER_SEC - clock_monotonic_ns();
	pr_info("rtc: %04u-%02u-%02u %02u:%02u:%02u UTC\n", year, mon, day, hour, min, sec);
}
