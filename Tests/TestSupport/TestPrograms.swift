/// The C program of the acceptance test: `hot_a` does twice the work of `hot_b`, both called
/// by `caller`, called by `main`. The work is a chain of dependent multiplications in
/// functions aligned alike, so its speed does not depend on where the code lies: the true
/// ratio is 2:1.
public let twoHotFunctionsC = """
    #include <stdint.h>
    volatile uint64_t sink;
    #define SPIN(name, c) __attribute__((noinline, aligned(64))) void name(uint64_t n) { \\
        uint64_t x = n; for (uint64_t i = 0; i < n; i++) x = x * 6364136223846793005ull + c; sink = x; }
    SPIN(hot_a, 1442695040888963407ull)
    SPIN(hot_b, 1)
    __attribute__((noinline)) void caller(void) { for (;;) { hot_a(20000000); hot_b(10000000); } }
    int main(void) { caller(); return 0; }
    """
