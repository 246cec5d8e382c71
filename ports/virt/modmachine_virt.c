// machine module hooks, included from extmod/modmachine.c.
#include "py/mphal.h"

#include "cpu.h"
#include "virt.h"

static void mp_machine_idle(void) {
    mp_event_wait_ms(1);
}

NORETURN static void mp_machine_reset(void) {
    virt_reset();
}

static mp_int_t mp_machine_reset_cause(void) {
    return 0; // QEMU gives no reset cause; every start is a power-on
}

// QEMU has no per-instance serial number: the CPU's IDs (cpu.h) identify
// the emulated core and its position.
static mp_obj_t mp_machine_unique_id(void) {
    uint32_t id[2];
    cpu_unique_id(id);
    return mp_obj_new_bytes((const byte *)id, sizeof(id));
}

// An emulated CPU has no clock of its own; the CPU timer's frequency is
// the one rate the machine defines.
static mp_obj_t mp_machine_get_freq(void) {
    return mp_obj_new_int_from_uint(cpu_counter_freq());
}

static void mp_machine_set_freq(size_t n_args, const mp_obj_t *args) {
    mp_raise_NotImplementedError(MP_ERROR_TEXT("freq is fixed"));
}

static void mp_machine_lightsleep(size_t n_args, const mp_obj_t *args) {
    if (n_args == 0) {
        for (;;) {
            mp_event_wait_indefinite();
        }
    }
    mp_hal_delay_ms(mp_obj_get_int(args[0]));
}

NORETURN static void mp_machine_deepsleep(size_t n_args, const mp_obj_t *args) {
    // No wake-up source survives a power-off here: deep sleep ends in a reset.
    mp_machine_lightsleep(n_args, args);
    virt_reset();
}
