/* plan_test_helper.h: tf_matmul_plan_of for the BLAS tests, until the
 * matmul entry point provides the real one (then this file and
 * plan_test_helper.c go away, and the tests include the real declaration). */
#ifndef TF_BLAS_PLAN_TEST_HELPER_H
#define TF_BLAS_PLAN_TEST_HELPER_H

#include "../backend.h"

/* The plan of a @ b after NumPy's matmul rules, exactly as cpu/matmul.c's
 * plan_matmul makes it; TF_ERR_SHAPE with a message when the shapes do not
 * fit. */
tf_status tf_matmul_plan_of(const tf_tensor *a, const tf_tensor *b,
                            tf_matmul_plan *p);

#endif /* TF_BLAS_PLAN_TEST_HELPER_H */
