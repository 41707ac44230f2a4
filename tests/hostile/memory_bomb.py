# appended to the reference
def make_transform(augment=False):
    hog = []
    while True:
        hog.append(bytearray(2**28))
