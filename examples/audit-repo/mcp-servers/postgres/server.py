print('postgres')
