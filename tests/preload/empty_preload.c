/* A library with nothing in it: the floor of what preloading any library
 * costs an exec (exec_faults compares ours with it). */
void tm_test_empty_preload(void)
{
}
