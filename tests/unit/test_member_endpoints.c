/* Endpoint lists from member lists: started voting members only, as clientv3's Sync. */
#include <stdlib.h>

#include "unit.h"

#include "client/member_endpoints.h"

static Etcdserverpb__Member member(const char *name, int learner, char **urls, size_t n)
{
    Etcdserverpb__Member m = ETCDSERVERPB__MEMBER__INIT;
    m.name = (char *)name;
    m.islearner = learner;
    m.clienturls = urls;
    m.n_clienturls = n;
    return m;
}

static char *endpoints_of(Etcdserverpb__Member *ms, size_t n)
{
    Etcdserverpb__Member *ptrs[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &ms[i];
    Etcdserverpb__MemberListResponse r = ETCDSERVERPB__MEMBER_LIST_RESPONSE__INIT;
    r.members = ptrs;
    r.n_members = n;
    char *out = (char *)"untouched";
    assert_int_equal(etcd_member_endpoints(&r, &out), ETCD_OK);
    return out;
}

static void voting_members_in_order(void **state)
{
    (void)state;
    char *a[] = {"http://127.0.0.1:2379", "http://10.0.0.1:2379"};
    char *b[] = {"https://b:2379"};
    Etcdserverpb__Member ms[] = {member("a", 0, a, 2), member("b", 0, b, 1)};
    char *out = endpoints_of(ms, 2);
    assert_string_equal(out, "http://127.0.0.1:2379,http://10.0.0.1:2379,https://b:2379");
    free(out);
}

static void learners_left_out(void **state)
{
    (void)state;
    char *a[] = {"http://a:2379"};
    char *l[] = {"http://learner:2379"};
    char *b[] = {"http://b:2379"};
    Etcdserverpb__Member ms[] = {member("a", 0, a, 1), member("l", 1, l, 1), member("b", 0, b, 1)};
    char *out = endpoints_of(ms, 3);
    assert_string_equal(out, "http://a:2379,http://b:2379");
    free(out);
}

/* A member added but not started has no name yet (and usually no client URLs). */
static void unstarted_left_out(void **state)
{
    (void)state;
    char *a[] = {"http://a:2379"};
    char *u[] = {"http://unstarted:2379"};
    Etcdserverpb__Member ms[] = {member("", 0, u, 1), member("a", 0, a, 1), member(NULL, 0, u, 1)};
    char *out = endpoints_of(ms, 3);
    assert_string_equal(out, "http://a:2379");
    free(out);
}

/* Nothing usable: no list, so that the caller keeps what it has. */
static void none_gives_null(void **state)
{
    (void)state;
    char *l[] = {"http://learner:2379"};
    char *empty[] = {""};
    Etcdserverpb__Member ms[] = {member("l", 1, l, 1), member("a", 0, NULL, 0), member("e", 0, empty, 1)};
    assert_null(endpoints_of(ms, 3));
    assert_null(endpoints_of(ms, 0));
    char *out = (char *)"untouched";
    assert_int_equal(etcd_member_endpoints(NULL, &out), ETCD_OK);
    assert_null(out);
}

/* Empty URLs are skipped without leaving empty entries between commas. */
static void empty_urls_skipped(void **state)
{
    (void)state;
    char *a[] = {"", "http://a:2379", ""};
    char *b[] = {"http://b:2379", ""};
    Etcdserverpb__Member ms[] = {member("a", 0, a, 3), member("b", 0, b, 2)};
    char *out = endpoints_of(ms, 2);
    assert_string_equal(out, "http://a:2379,http://b:2379");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(voting_members_in_order),
        cmocka_unit_test(learners_left_out),
        cmocka_unit_test(unstarted_left_out),
        cmocka_unit_test(none_gives_null),
        cmocka_unit_test(empty_urls_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
